//! `POST/DELETE /api/admin/products/{id}/image` and `/api/admin/tables/{id}/image`
//! (managers and admins): upload, check, re-encode and store an image, and point the row
//! at it.
//!
//! The upload is a `multipart/form-data` body with one field, `file`. It is read as a
//! stream and refused past [`MAX_IMAGE_BYTES`] (413) without holding more than that; the
//! format comes from its first bytes, not its name or declared type, and the `image` crate
//! must decode it (415 / 422 naming `file` otherwise). The pixels are scaled to at most
//! [`MAX_IMAGE_EDGE`] and encoded afresh, which drops every piece of metadata (EXIF, GPS,
//! comments, colour profiles). The file gets a generated name under
//! `UPLOAD_DIR/<products|tables>/` (written to a hidden partial file, then renamed), and
//! only then is the row updated, with its audit row and its `menu.updated` /
//! `table.updated` event, in one transaction. If that fails the new file is removed; if it
//! commits, the file the row pointed at before is removed. Images are served at
//! `/pos-images/<products|tables>/<name>` with an immutable cache header.

use std::io::Cursor;
use std::path::{Path as FsPath, PathBuf};

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{HttpRequest, HttpResponse, delete, post, web};
use futures_util::StreamExt;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageReader, Limits};
use pos_domain::images::{
    FILE_FIELD, ImageActor, ImageFormat, ImageName, ImageOwner, ImageStore, MAX_IMAGE_BYTES, MAX_IMAGE_EDGE,
    MAX_SOURCE_EDGE,
};
use pos_domain::permissions::Action;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::auth::Authenticated;
use crate::error::{ApiError, ProblemDetails};
use crate::extract::Path;
use crate::state::AppState;

pub(crate) fn routes(cfg: &mut ServiceConfig) {
    cfg.service(upload_product_image)
        .service(delete_product_image)
        .service(upload_table_image)
        .service(delete_table_image);
}

/// Room for the multipart framing around the file (boundaries, part headers), in the
/// declared length of a body worth reading.
const MULTIPART_OVERHEAD: usize = 64 * 1024;
/// What is read and thrown away after the limit, so the client hears the 413 instead of a
/// reset connection; past this the connection is simply closed.
const DRAIN_LIMIT: usize = 8 * 1024 * 1024;
/// Largest decoded pixel buffer (an 8000 × 8000 RGBA image): bounds a decompression bomb.
const MAX_DECODED_BYTES: u64 = 256 * 1024 * 1024;
/// JPEG quality of re-encoded photos.
const JPEG_QUALITY: u8 = 85;

/// The upload: a `multipart/form-data` body with the image in the field `file`.
#[derive(Debug, ToSchema)]
pub struct ImageUpload {
    /// A JPEG, PNG or WebP image of at most 5 MB (5,242,880 bytes). Its file name is ignored.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// The stored image.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"image_url": "/pos-images/products/3f2a9c0d4e5b6a7f8091a2b3c4d5e6f7.jpg", "content_type": "image/jpeg", "width": 1024, "height": 768, "size_bytes": 183_467}))]
pub struct ImageView {
    /// Where the image is served (also the row's new `image_url`).
    pub image_url: String,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub size_bytes: u64,
}

/// A refusal of the upload naming the field (`file`, or the stray field's name).
fn refuse(status: StatusCode, code: &str, field: &str, detail: impl Into<String>) -> HttpResponse {
    ProblemDetails::new(status, code, detail, Some(field.to_owned())).into_response(status)
}

fn store(state: &AppState) -> Result<(&dyn ImageStore, &FsPath), ApiError> {
    let unavailable = || ApiError::Unavailable("images are not configured on this instance".to_owned());
    let images = state.images.as_deref().ok_or_else(unavailable)?;
    let dir = state.config.upload_dir.as_deref().ok_or_else(unavailable)?;
    Ok((images, dir))
}

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<actix_web::mime::Mime>().ok())
        .is_some_and(|m| m.type_() == actix_web::mime::MULTIPART && m.subtype() == actix_web::mime::FORM_DATA)
}

/// Reads the one `file` field, at most [`MAX_IMAGE_BYTES`] of it. `Err` is the answer.
async fn read_file(req: &HttpRequest, mut multipart: Multipart) -> Result<Vec<u8>, HttpResponse> {
    let too_large = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            FILE_FIELD,
            format!("{FILE_FIELD}: images may be at most {MAX_IMAGE_BYTES} bytes (5 MB)"),
        )
    };
    if !is_multipart(req.headers()) {
        return Err(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            FILE_FIELD,
            format!("send the image as multipart/form-data in the field `{FILE_FIELD}`"),
        ));
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_IMAGE_BYTES + MULTIPART_OVERHEAD + DRAIN_LIMIT) {
        // Far too large to be worth reading even to throw away: answer now (the connection
        // closes with the rest unread). Anything smaller is read up to the limit below.
        return Err(too_large());
    }
    let mut file: Option<Vec<u8>> = None;
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|e| {
            refuse(
                StatusCode::BAD_REQUEST,
                "unreadable_body",
                FILE_FIELD,
                format!("the multipart body could not be read: {e}"),
            )
        })?;
        let name = field.name().unwrap_or_default().to_owned();
        if name != FILE_FIELD {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "unknown_field",
                &name,
                format!("{name}: unknown field; the image goes in `{FILE_FIELD}`"),
            ));
        }
        if file.is_some() {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "invalid_field",
                FILE_FIELD,
                format!("{FILE_FIELD}: send one image"),
            ));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| {
                refuse(
                    StatusCode::BAD_REQUEST,
                    "unreadable_body",
                    FILE_FIELD,
                    format!("{FILE_FIELD}: could not be read: {e}"),
                )
            })?;
            if bytes.len() + chunk.len() > MAX_IMAGE_BYTES {
                drop(bytes);
                let mut drained = 0;
                while let Some(Ok(chunk)) = field.next().await {
                    drained += chunk.len();
                    if drained > DRAIN_LIMIT {
                        break;
                    }
                }
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        file = Some(bytes);
    }
    file.ok_or_else(|| {
        refuse(
            StatusCode::BAD_REQUEST,
            "missing_field",
            FILE_FIELD,
            format!("{FILE_FIELD}: required (a JPEG, PNG or WebP image)"),
        )
    })
}

/// A checked, re-encoded image.
struct Encoded {
    format: ImageFormat,
    bytes: Vec<u8>,
    width: u32,
    height: u32,
}

/// Why the content was refused: (status, code, detail).
type Refusal = (StatusCode, &'static str, String);

/// Sniffs, decodes (within limits), scales and re-encodes. CPU-bound: run off the executor.
fn reencode(bytes: &[u8]) -> Result<Encoded, Refusal> {
    let format = ImageFormat::sniff(bytes).ok_or_else(|| {
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_image_type",
            format!("{FILE_FIELD}: not a JPEG, PNG or WebP image (judged by its content, not its name)"),
        )
    })?;
    let unreadable = |e: image::ImageError| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_image",
            format!(
                "{FILE_FIELD}: not a readable {} image: {e}",
                format.extension().to_uppercase()
            ),
        )
    };
    let mut reader = ImageReader::with_format(
        Cursor::new(bytes),
        match format {
            ImageFormat::Jpeg => image::ImageFormat::Jpeg,
            ImageFormat::Png => image::ImageFormat::Png,
            ImageFormat::Webp => image::ImageFormat::WebP,
        },
    );
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SOURCE_EDGE);
    limits.max_image_height = Some(MAX_SOURCE_EDGE);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(unreadable)?;
    if decoder.total_bytes() > MAX_DECODED_BYTES {
        return Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_image",
            format!("{FILE_FIELD}: too many pixels to decode"),
        ));
    }
    // A phone's photo is stored sideways with an EXIF note to turn it: turn the pixels, since
    // the note goes with the rest of the metadata.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut decoded = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    decoded.apply_orientation(orientation);
    let scaled = if decoded.width() > MAX_IMAGE_EDGE || decoded.height() > MAX_IMAGE_EDGE {
        decoded.resize(
            MAX_IMAGE_EDGE,
            MAX_IMAGE_EDGE,
            image::imageops::FilterType::Triangle,
        )
    } else {
        decoded
    };
    let (width, height) = (scaled.width(), scaled.height());
    let encoded = encode(&scaled, format).map_err(|e| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_image",
            format!("{FILE_FIELD}: could not be re-encoded: {e}"),
        )
    })?;
    Ok(Encoded {
        format,
        bytes: encoded,
        width,
        height,
    })
}

/// Fresh pixels in a fresh file: no metadata of the upload survives.
fn encode(image: &DynamicImage, format: ImageFormat) -> image::ImageResult<Vec<u8>> {
    let mut out = Vec::new();
    match format {
        ImageFormat::Jpeg => {
            let rgb = image.to_rgb8();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY).write_image(
                rgb.as_raw(),
                rgb.width(),
                rgb.height(),
                image::ExtendedColorType::Rgb8,
            )?;
        }
        ImageFormat::Png => {
            let rgba = image.to_rgba8();
            image::codecs::png::PngEncoder::new(&mut out).write_image(
                rgba.as_raw(),
                rgba.width(),
                rgba.height(),
                image::ExtendedColorType::Rgba8,
            )?;
        }
        ImageFormat::Webp => {
            let rgba = image.to_rgba8();
            image::codecs::webp::WebPEncoder::new_lossless(&mut out).write_image(
                rgba.as_raw(),
                rgba.width(),
                rgba.height(),
                image::ExtendedColorType::Rgba8,
            )?;
        }
    }
    Ok(out)
}

/// Writes `bytes` as `dir/name` through a hidden partial file (never served: hidden names
/// are refused by the image route), so a half-written image is never visible.
async fn write_image(dir: &FsPath, name: &ImageName, bytes: Vec<u8>) -> std::io::Result<PathBuf> {
    tokio::fs::create_dir_all(dir).await?;
    let partial = dir.join(format!(".{}.partial", name.as_str()));
    let path = dir.join(name.as_str());
    if let Err(e) = tokio::fs::write(&partial, bytes).await {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(e);
    }
    if let Err(e) = tokio::fs::rename(&partial, &path).await {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(e);
    }
    Ok(path)
}

/// Removes the stored file a replaced `image_url` pointed at, when it was one of ours.
async fn remove_previous(dir: &FsPath, owner: ImageOwner, previous: Option<&str>) {
    let Some(name) = previous.and_then(|url| ImageName::of_url(owner, url)) else {
        return;
    };
    let path = dir.join(owner.folder()).join(name.as_str());
    match tokio::fs::remove_file(&path).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(path = %path.display(), error = %e, "could not remove a replaced image"),
    }
}

fn actor(auth: &Authenticated) -> ImageActor {
    ImageActor {
        staff: auth.staff.id,
        terminal: auth.terminal_id(),
    }
}

async fn upload(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
    multipart: Multipart,
    owner: ImageOwner,
    id: Uuid,
) -> Result<HttpResponse, ApiError> {
    auth.require(match owner {
        ImageOwner::Product => Action::EditMenu,
        ImageOwner::Table => Action::EditTables,
    })?;
    let (images, root) = store(&state)?;
    let bytes = match read_file(&req, multipart).await {
        Ok(bytes) => bytes,
        Err(answer) => return Ok(answer),
    };
    let encoded = match web::block(move || reencode(&bytes)).await {
        Ok(Ok(encoded)) => encoded,
        Ok(Err((status, code, detail))) => return Ok(refuse(status, code, FILE_FIELD, detail)),
        Err(e) => return Err(ApiError::internal(format_args!("image task failed: {e}"))),
    };
    let name = ImageName::generate(encoded.format, rand::random());
    let dir = root.join(owner.folder());
    let size_bytes = encoded.bytes.len() as u64;
    let path = write_image(&dir, &name, encoded.bytes)
        .await
        .map_err(|e| ApiError::internal(format_args!("writing {}: {e}", dir.display())))?;
    let url = name.url(owner);
    let swap = match images.set_image(owner, id, Some(url.clone()), actor(&auth)).await {
        Ok(swap) => swap,
        Err(error) => {
            // The row was not updated: the file would be an orphan nobody lists.
            let _ = tokio::fs::remove_file(&path).await;
            return Err(error.into());
        }
    };
    remove_previous(root, owner, swap.previous.as_deref()).await;
    crate::realtime::publish_committed(state.bus.as_ref(), std::slice::from_ref(&swap.event)).await;
    Ok(HttpResponse::Ok().json(ImageView {
        image_url: url,
        content_type: encoded.format.media_type().to_owned(),
        width: encoded.width,
        height: encoded.height,
        size_bytes,
    }))
}

async fn remove(
    state: web::Data<AppState>,
    auth: Authenticated,
    owner: ImageOwner,
    id: Uuid,
) -> Result<HttpResponse, ApiError> {
    auth.require(match owner {
        ImageOwner::Product => Action::EditMenu,
        ImageOwner::Table => Action::EditTables,
    })?;
    let (images, root) = store(&state)?;
    let swap = images.set_image(owner, id, None, actor(&auth)).await?;
    remove_previous(root, owner, swap.previous.as_deref()).await;
    crate::realtime::publish_committed(state.bus.as_ref(), std::slice::from_ref(&swap.event)).await;
    Ok(HttpResponse::NoContent().finish())
}

/// Upload a product's image (replacing the one it had).
///
/// `multipart/form-data` with the image in `file`: JPEG, PNG or WebP (judged by content),
/// at most 5 MB. Stored re-encoded without metadata, at most 1024 px on its longer edge,
/// under a generated name; the product's `image_url` points at it and terminals hear
/// `menu.updated`.
#[utoipa::path(
    tag = "images",
    params(("product_id" = Uuid, Path, description = "The product")),
    request_body(content = ImageUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Stored; the product shows it", body = ImageView),
        (status = 413, description = "`payload_too_large`: `file` is over 5 MB", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_image_type`: `file` is not JPEG, PNG or WebP by its content; or the body is not multipart", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_image`: `file` does not decode", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_menu")))
)]
#[post("/admin/products/{product_id}/image")]
pub async fn upload_product_image(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
    path: Path<(Uuid,)>,
    multipart: Multipart,
) -> Result<HttpResponse, ApiError> {
    upload(
        req,
        state,
        auth,
        multipart,
        ImageOwner::Product,
        path.into_inner().0,
    )
    .await
}

/// Remove a product's image (the file too, when it was uploaded here).
#[utoipa::path(
    tag = "images",
    params(("product_id" = Uuid, Path, description = "The product")),
    responses((status = 204, description = "The product has no image")),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_menu")))
)]
#[delete("/admin/products/{product_id}/image")]
pub async fn delete_product_image(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: Path<(Uuid,)>,
) -> Result<HttpResponse, ApiError> {
    remove(state, auth, ImageOwner::Product, path.into_inner().0).await
}

/// Upload a table's image (replacing the one it had); as for products, terminals hear
/// `table.updated`.
#[utoipa::path(
    tag = "images",
    params(("table_id" = Uuid, Path, description = "The table")),
    request_body(content = ImageUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Stored; the table shows it", body = ImageView),
        (status = 413, description = "`payload_too_large`: `file` is over 5 MB", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_image_type`: `file` is not JPEG, PNG or WebP by its content; or the body is not multipart", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_image`: `file` does not decode", body = ProblemDetails, content_type = "application/problem+json"),
    ),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_tables")))
)]
#[post("/admin/tables/{table_id}/image")]
pub async fn upload_table_image(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Authenticated,
    path: Path<(Uuid,)>,
    multipart: Multipart,
) -> Result<HttpResponse, ApiError> {
    upload(
        req,
        state,
        auth,
        multipart,
        ImageOwner::Table,
        path.into_inner().0,
    )
    .await
}

/// Remove a table's image.
#[utoipa::path(
    tag = "images",
    params(("table_id" = Uuid, Path, description = "The table")),
    responses((status = 204, description = "The table has no image")),
    security(("bearer_auth" = []), ("cookie_auth" = [])),
    extensions(("x-pos-action" = json!("edit_tables")))
)]
#[delete("/admin/tables/{table_id}/image")]
pub async fn delete_table_image(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: Path<(Uuid,)>,
) -> Result<HttpResponse, ApiError> {
    remove(state, auth, ImageOwner::Table, path.into_inner().0).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn png_with_text_chunk(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let pixels = image::RgbaImage::from_pixel(width, height, image::Rgba([200, 30, 30, 255]));
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(pixels.as_raw(), width, height, image::ExtendedColorType::Rgba8)
            .unwrap();
        // A tEXt chunk right after IHDR, as cameras and editors leave behind.
        let text = b"Comment\0secret GPS 51.5N";
        let mut chunk = Vec::new();
        chunk.extend_from_slice(&(text.len() as u32).to_be_bytes());
        chunk.extend_from_slice(b"tEXt");
        chunk.extend_from_slice(text);
        let crc = crc32(&[b"tEXt".as_slice(), text].concat());
        chunk.extend_from_slice(&crc.to_be_bytes());
        let ihdr_end = 8 + 25;
        out.splice(ihdr_end..ihdr_end, chunk);
        out
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFF_u32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn metadata_is_dropped_and_large_images_are_scaled_down() {
        let upload = png_with_text_chunk(2048, 1024);
        assert!(upload.windows(6).any(|w| w == b"secret"));
        // The decoder accepts the file with its text chunk.
        let encoded = reencode(&upload).unwrap();
        assert_eq!((encoded.width, encoded.height), (1024, 512));
        assert_eq!(encoded.format, ImageFormat::Png);
        assert!(!encoded.bytes.windows(6).any(|w| w == b"secret"));
        assert!(!encoded.bytes.windows(4).any(|w| w == b"tEXt"));
    }

    #[test]
    fn content_decides_not_the_name() {
        let (status, code, detail) = reencode(b"just some text in a file called photo.jpg")
            .err()
            .unwrap();
        assert_eq!(
            (status, code),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_image_type")
        );
        assert!(detail.starts_with("file: "));
        // Right magic bytes, garbage after them.
        let mut fake = vec![0xFF, 0xD8, 0xFF, 0xE0];
        fake.extend_from_slice(&[0x55; 512]);
        let (status, code, _) = reencode(&fake).err().unwrap();
        assert_eq!(
            (status, code),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_image")
        );
    }

    #[test]
    fn each_format_is_re_encoded_as_itself() {
        let pixels =
            DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(40, 30, image::Rgba([1, 2, 3, 255])));
        for format in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::Webp] {
            let bytes = encode(&pixels, format).unwrap();
            let again = reencode(&bytes).unwrap();
            assert_eq!(again.format, format);
            assert_eq!((again.width, again.height), (40, 30));
            assert_eq!(ImageFormat::sniff(&again.bytes), Some(format));
        }
    }

    #[test]
    fn a_sideways_photo_is_turned_upright_before_its_exif_goes() {
        let pixels = image::RgbImage::from_pixel(40, 20, image::Rgb([120, 60, 30]));
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
            .write_image(pixels.as_raw(), 40, 20, image::ExtendedColorType::Rgb8)
            .unwrap();
        // APP1 "Exif": a big-endian TIFF header and one IFD entry, Orientation (0x0112) = 6
        // (turn 90° clockwise to view).
        let mut exif = b"Exif\0\0MM\0*\0\0\0\x08\0\x01".to_vec();
        exif.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]);
        let mut segment = vec![0xFF, 0xE1];
        segment.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
        segment.extend_from_slice(&exif);
        jpeg.splice(2..2, segment);
        let encoded = reencode(&jpeg).unwrap();
        assert_eq!((encoded.width, encoded.height), (20, 40));
        assert!(!encoded.bytes.windows(4).any(|w| w == b"Exif"));
    }

    #[test]
    fn a_huge_canvas_is_refused_before_decoding() {
        // A tiny PNG header declaring 60000 × 60000 pixels.
        let mut header = Vec::new();
        header.extend_from_slice(b"\x89PNG\r\n\x1a\n");
        let ihdr: Vec<u8> = [60_000_u32.to_be_bytes(), 60_000_u32.to_be_bytes()].concat();
        let mut data = ihdr.clone();
        data.extend_from_slice(&[8, 6, 0, 0, 0]);
        header.extend_from_slice(&(data.len() as u32).to_be_bytes());
        header.extend_from_slice(b"IHDR");
        header.extend_from_slice(&data);
        header.extend_from_slice(&crc32(&[b"IHDR".as_slice(), &data].concat()).to_be_bytes());
        let (status, code, _) = reencode(&header).err().unwrap();
        assert_eq!(
            (status, code),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_image")
        );
    }
}
