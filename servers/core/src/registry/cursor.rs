//! Listing cursors: opaque to clients, holding the last name of the previous page, so pages
//! stay consistent while tools (or resources) come and go.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::RegistryError;

const CURSOR_PREFIX: &str = "v1:";

pub(crate) fn encode_cursor(name: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{name}"))
}

pub(crate) fn decode_cursor(cursor: &str) -> Result<String, RegistryError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| RegistryError::BadCursor)?;
    let text = String::from_utf8(bytes).map_err(|_| RegistryError::BadCursor)?;
    text.strip_prefix(CURSOR_PREFIX)
        .map(str::to_owned)
        .ok_or(RegistryError::BadCursor)
}
