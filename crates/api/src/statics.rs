//! Everything that is not an API route: the fallback that answers unknown `/api` paths
//! (404, or 405 with `Allow` when the path exists with other methods), the SPA bundle from
//! `WEB_DIR` with its `index.html` fallback for client-side routes, a built-in page when no
//! bundle is configured, and uploaded images from `UPLOAD_DIR` under `/pos-images/`.

use std::path::{Path, PathBuf};

use actix_files::NamedFile;
use actix_web::http::{Method, header};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::ApiError;
use crate::openapi::RouteTable;
use crate::state::AppState;

pub const IMAGES_PREFIX: &str = "/pos-images/";

/// What the fallback service needs, built once per worker.
pub(crate) struct Fallback {
    pub routes: RouteTable,
    /// Canonical SPA directory, set only when it holds an `index.html`.
    pub web_dir: Option<PathBuf>,
}

impl Fallback {
    pub(crate) fn new(routes: RouteTable, web_dir: Option<&Path>) -> Self {
        let web_dir = web_dir.and_then(|dir| match dir.canonicalize() {
            Ok(dir) if dir.join("index.html").is_file() => Some(dir),
            _ => {
                tracing::warn!(dir = %dir.display(), "WEB_DIR has no index.html; serving the built-in page");
                None
            }
        });
        Self { routes, web_dir }
    }
}

fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// The app's default service: every request no route took.
pub(crate) async fn fallback(
    req: HttpRequest,
    fallback: web::Data<Fallback>,
) -> Result<HttpResponse, ApiError> {
    let path = req.path();
    if is_api_path(path) {
        return Err(match fallback.routes.allowed_methods(path) {
            Some(allow) if !allow.contains(req.method()) => ApiError::MethodNotAllowed { allow },
            _ => ApiError::NotFound(format!("no route for {path}")),
        });
    }
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return Err(ApiError::MethodNotAllowed {
            allow: vec![Method::GET, Method::HEAD],
        });
    }
    match &fallback.web_dir {
        Some(dir) => serve_spa(&req, dir),
        None if path == "/" => Ok(HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(BUILT_IN_PAGE)),
        None => Err(ApiError::NotFound(format!("nothing at {path}"))),
    }
}

const BUILT_IN_PAGE: &str = "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">\
<title>pos</title></head>\n<body>\n<h1>pos</h1>\n<p>The point-of-sale server is running. \
No web app is installed (set <code>WEB_DIR</code> to a built bundle).</p>\n<ul>\n\
<li><a href=\"/api/docs/\">API documentation</a></li>\n<li><a href=\"/api/health\">Health</a></li>\n\
</ul>\n</body>\n</html>\n";

fn serve_spa(req: &HttpRequest, dir: &Path) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::NotFound(format!("nothing at {}", req.path()));
    let candidate = confined_path(dir, req.path()).ok_or_else(not_found)?;
    if candidate.is_file() {
        // Vite fingerprints everything under assets/: safe to cache forever.
        let cache = if candidate.starts_with(dir.join("assets")) {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        return serve_file(req, &candidate, cache);
    }
    let index_here = candidate.join("index.html");
    if candidate.is_dir() && index_here.is_file() {
        return serve_file(req, &index_here, "no-cache");
    }
    let looks_like_a_file = req
        .path()
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'));
    if looks_like_a_file {
        // A missing asset must not turn into index.html: the browser would run HTML as JS.
        return Err(not_found());
    }
    serve_file(req, &dir.join("index.html"), "no-cache")
}

/// Serves `/pos-images/{name}` from `UPLOAD_DIR`.
pub(crate) async fn image(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::NotFound(format!("no image at {}", req.path()));
    let root = state.config.upload_dir.as_deref().ok_or_else(not_found)?;
    let relative = req.path().strip_prefix(IMAGES_PREFIX).ok_or_else(not_found)?;
    let candidate = confined_path(root, relative).ok_or_else(not_found)?;
    if !candidate.is_file() {
        return Err(not_found());
    }
    // Uploaded images have generated names that never change content (routes::images).
    let uploaded = ["products/", "tables/"]
        .iter()
        .any(|folder| relative.trim_start_matches('/').starts_with(folder));
    let cache = if uploaded {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=86400"
    };
    serve_file(&req, &candidate, cache)
}

fn serve_file(req: &HttpRequest, path: &Path, cache_control: &'static str) -> Result<HttpResponse, ApiError> {
    let file = NamedFile::open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ApiError::NotFound(format!("nothing at {}", req.path()))
        } else {
            ApiError::internal(format_args!("opening {}: {e}", path.display()))
        }
    })?;
    let mut response = file.prefer_utf8(true).into_response(req);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static(cache_control),
    );
    Ok(response)
}

/// `url_path` (percent-encoded, relative to `root`) as a path inside `root`, or `None` when it
/// is not valid UTF-8, names a hidden file or `..`, or resolves (through a symlink) outside
/// `root`. A path that does not exist yet is returned as joined, for the SPA fallback.
fn confined_path(root: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded = percent_encoding::percent_decode_str(url_path)
        .decode_utf8()
        .ok()?;
    let mut path = root.to_path_buf();
    for segment in decoded.split('/').filter(|s| !s.is_empty()) {
        if segment.starts_with('.') || segment.contains(['\\', '\0', ':']) {
            return None;
        }
        path.push(segment);
    }
    match (path.canonicalize(), root.canonicalize()) {
        (Ok(real), Ok(real_root)) => real.starts_with(&real_root).then_some(path),
        (Err(_), _) => Some(path),
        (Ok(_), Err(_)) => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_root() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("a.png"), b"png").unwrap();
        assert_eq!(
            confined_path(root.path(), "a.png"),
            Some(root.path().join("a.png"))
        );
        assert_eq!(
            confined_path(root.path(), "/sub/x%20y.png"),
            Some(root.path().join("sub").join("x y.png"))
        );
        for hostile in [
            "../etc/passwd",
            "%2e%2e/etc/passwd",
            ".env",
            "a/..%2f..%2fetc",
            "%ff.png",
            "..\\x",
        ] {
            assert_eq!(confined_path(root.path(), hostile), None, "{hostile}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_out_of_the_root_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), b"secret").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.txt"), root.path().join("link.txt")).unwrap();
        assert_eq!(confined_path(root.path(), "link.txt"), None);
    }
}
