//! Product and table images: which formats are accepted (by their content, not their
//! name), how big, what a stored image is called and where it is served, and the audit
//! entry and event of a change. Decoding and re-encoding are the HTTP adapter's business
//! (the `image` crate); the row's `image_url` is the store's.
//!
//! A stored name is generated (`<32 hex>.<ext>`): nothing the client sends (file name,
//! path, content type) ever reaches the file system, and a name never changes content, so
//! it can be cached for good.

use async_trait::async_trait;
use serde::Serialize;

use crate::StoreError;
use crate::audit::NewAuditEntry;
use crate::event::{Event, NewEvent};
use crate::ids::{StaffId, TerminalId};
use crate::order::events::{topics, types};

/// Largest accepted upload, in bytes (the file itself).
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;
/// Longest edge of a stored image; larger ones are scaled down, keeping their proportions.
pub const MAX_IMAGE_EDGE: u32 = 1024;
/// Largest width or height an upload may declare: a small file claiming a huge canvas (a
/// decompression bomb) is refused before it is decoded.
pub const MAX_SOURCE_EDGE: u32 = 12_000;
/// Where images are served; `UPLOAD_DIR` holds the same tree.
pub const IMAGES_URL_PREFIX: &str = "/pos-images/";
/// The multipart field carrying the file.
pub const FILE_FIELD: &str = "file";

/// What an image belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageOwner {
    Product,
    Table,
}

impl ImageOwner {
    /// The folder under `UPLOAD_DIR` and under [`IMAGES_URL_PREFIX`].
    pub fn folder(self) -> &'static str {
        match self {
            ImageOwner::Product => "products",
            ImageOwner::Table => "tables",
        }
    }

    /// The audit log's entity and the store's not-found entity.
    pub fn entity(self) -> &'static str {
        match self {
            ImageOwner::Product => "product",
            ImageOwner::Table => "table",
        }
    }
}

/// An accepted image format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    Jpeg,
    Png,
    Webp,
}

impl ImageFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpg",
            ImageFormat::Png => "png",
            ImageFormat::Webp => "webp",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::Webp => "image/webp",
        }
    }

    fn from_extension(raw: &str) -> Option<ImageFormat> {
        match raw {
            "jpg" => Some(ImageFormat::Jpeg),
            "png" => Some(ImageFormat::Png),
            "webp" => Some(ImageFormat::Webp),
            _ => None,
        }
    }

    /// The format the first bytes announce (their magic numbers), whatever the file is
    /// called. The decoder then has the last word: a file that starts right but does not
    /// decode is refused too.
    pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageFormat::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageFormat::Png)
        } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
            Some(ImageFormat::Webp)
        } else {
            None
        }
    }
}

/// A stored image's file name: `<32 lowercase hex>.<jpg|png|webp>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageName(String);

impl ImageName {
    /// A fresh name from 128 random bits.
    pub fn generate(format: ImageFormat, random: u128) -> ImageName {
        ImageName(format!("{random:032x}.{}", format.extension()))
    }

    /// Only names [`ImageName::generate`] can produce.
    pub fn parse(raw: &str) -> Option<ImageName> {
        let (stem, extension) = raw.split_once('.')?;
        let stem_ok = stem.len() == 32
            && stem
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        (stem_ok && ImageFormat::from_extension(extension).is_some()).then(|| ImageName(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Where it is served: `/pos-images/products/<name>`.
    pub fn url(&self, owner: ImageOwner) -> String {
        format!("{IMAGES_URL_PREFIX}{}/{}", owner.folder(), self.0)
    }

    /// The stored image a row's `image_url` points at, when it is one of ours (seeded
    /// rows may point at images shipped with the venue, which are never deleted).
    pub fn of_url(owner: ImageOwner, url: &str) -> Option<ImageName> {
        let rest = url.strip_prefix(IMAGES_URL_PREFIX)?;
        let name = rest.strip_prefix(owner.folder())?.strip_prefix('/')?;
        ImageName::parse(name)
    }
}

/// Who changes an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageActor {
    pub staff: StaffId,
    pub terminal: Option<TerminalId>,
}

/// What the terminals hear about a changed image (they reload the menu or the floor).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageEventPayload {
    /// `catalog`, as for every back-office change of the menu or the floor.
    pub reason: &'static str,
    pub entity: &'static str,
    pub id: String,
    /// `image_changed`.
    pub change: &'static str,
    pub image_url: Option<String>,
}

/// The audit entry (before/after `image_url`) and the `menu.updated` / `table.updated`
/// event of one image change, appended in the transaction that updates the row.
pub fn image_changed(
    owner: ImageOwner,
    id: uuid::Uuid,
    actor: ImageActor,
    before: Option<&str>,
    after: Option<&str>,
) -> (NewAuditEntry, NewEvent) {
    let audit = NewAuditEntry::new(&format!("{}.image_changed", owner.entity()), owner.entity())
        .actor(Some(actor.staff))
        .terminal(actor.terminal)
        .entity_id(id)
        .before(serde_json::json!({ "image_url": before }))
        .after(serde_json::json!({ "image_url": after }));
    let payload = ImageEventPayload {
        reason: "catalog",
        entity: owner.entity(),
        id: id.to_string(),
        change: "image_changed",
        image_url: after.map(str::to_owned),
    };
    let (event_type, topic) = match owner {
        ImageOwner::Product => (types::MENU_UPDATED, topics::MENU),
        ImageOwner::Table => (types::TABLE_UPDATED, topics::TABLES),
    };
    let payload = serde_json::to_value(&payload).unwrap_or(serde_json::Value::Null);
    (audit, NewEvent::new(event_type, topic, payload))
}

/// A row's image after a change.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSwap {
    /// The `image_url` the row had.
    pub previous: Option<String>,
    /// The event appended with the change, to publish once committed.
    pub event: Event,
}

/// Sets a product's or table's `image_url`, with its audit row and event, in one
/// transaction. `StoreError::NotFound` naming the entity when there is no such row.
#[async_trait]
pub trait ImageStore: Send + Sync {
    async fn set_image(
        &self,
        owner: ImageOwner,
        id: uuid::Uuid,
        url: Option<String>,
        actor: ImageActor,
    ) -> Result<ImageSwap, StoreError>;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_known_by_their_content() {
        assert_eq!(
            ImageFormat::sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]),
            Some(ImageFormat::Jpeg)
        );
        assert_eq!(
            ImageFormat::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(ImageFormat::Png)
        );
        assert_eq!(
            ImageFormat::sniff(b"RIFF\x10\0\0\0WEBPVP8 "),
            Some(ImageFormat::Webp)
        );
        for other in [
            &b"hello, I am text pretending to be a .jpg"[..],
            b"GIF89a......",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
            b"RIFF\x10\0\0\0WAVEfmt ",
            b"",
            &[0xFF, 0xD8],
        ] {
            assert_eq!(ImageFormat::sniff(other), None, "{other:?}");
        }
    }

    #[test]
    fn names_are_generated_never_taken_from_the_client() {
        let name = ImageName::generate(ImageFormat::Webp, 0xabc);
        assert_eq!(name.as_str(), "00000000000000000000000000000abc.webp");
        assert_eq!(ImageName::parse(name.as_str()), Some(name.clone()));
        assert_eq!(
            name.url(ImageOwner::Table),
            "/pos-images/tables/00000000000000000000000000000abc.webp"
        );
        for hostile in [
            "../../etc/passwd",
            "..%2f..%2fetc%2fpasswd.jpg",
            "photo.jpg",
            "00000000000000000000000000000abc.jpg/../x",
            "00000000000000000000000000000ABC.jpg",
            "00000000000000000000000000000abc.gif",
            "00000000000000000000000000000abc.jpg.php",
            ".00000000000000000000000000000abc.jpg",
        ] {
            assert_eq!(ImageName::parse(hostile), None, "{hostile}");
        }
    }

    #[test]
    fn only_our_own_urls_name_a_stored_image() {
        let name = ImageName::generate(ImageFormat::Jpeg, 7);
        assert_eq!(
            ImageName::of_url(ImageOwner::Product, &name.url(ImageOwner::Product)),
            Some(name.clone())
        );
        assert_eq!(
            ImageName::of_url(ImageOwner::Table, &name.url(ImageOwner::Product)),
            None
        );
        assert_eq!(
            ImageName::of_url(
                ImageOwner::Product,
                "/pos-images/food/breakfast/english-breakfast.jpg"
            ),
            None
        );
        assert_eq!(
            ImageName::of_url(ImageOwner::Product, "/pos-images/products/../../secret"),
            None
        );
    }

    #[test]
    fn a_change_is_audited_and_announced_on_the_right_topic() {
        let id = uuid::Uuid::now_v7();
        let actor = ImageActor {
            staff: StaffId::new(),
            terminal: None,
        };
        let (audit, event) = image_changed(
            ImageOwner::Table,
            id,
            actor,
            None,
            Some("/pos-images/tables/x.png"),
        );
        assert_eq!(audit.action, "table.image_changed");
        assert_eq!(
            audit.after,
            Some(serde_json::json!({"image_url": "/pos-images/tables/x.png"}))
        );
        assert_eq!(
            (event.event_type.as_str(), event.topic.as_str()),
            ("table.updated", "tables")
        );
        assert_eq!(event.payload["change"], "image_changed");
        let (_, event) = image_changed(ImageOwner::Product, id, actor, Some("a"), None);
        assert_eq!(
            (event.event_type.as_str(), event.topic.as_str()),
            ("menu.updated", "menu")
        );
        assert_eq!(event.payload["image_url"], serde_json::Value::Null);
    }
}
