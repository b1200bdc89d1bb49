//! Text hygiene and the PC858 code page (see the parent module's notes): inputs cleaned of
//! control and invisible characters, wrapped to the paper, transliterated for ESC/POS.

pub(super) fn has_text(raw: &str) -> bool {
    !clean(raw).is_empty()
}

/// One line of text: control characters and whitespace runs become one space, invisible
/// format characters are dropped, ends are trimmed.
pub(super) fn clean(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut space_pending = false;
    for c in raw.chars() {
        if c.is_whitespace() || c.is_control() {
            space_pending = !out.is_empty();
        } else if !is_invisible(c) {
            if space_pending {
                out.push(' ');
                space_pending = false;
            }
            out.push(c);
        }
    }
    out
}

pub(super) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{AD}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
    )
}

/// Greedy word wrap: the first line holds at most `first_width` chars, the others
/// `rest_width`; a word longer than a line is broken at the line's end. Empty text gives
/// no lines.
pub(super) fn wrap(text: &str, first_width: usize, rest_width: usize) -> Vec<String> {
    let first_width = first_width.max(1);
    let rest_width = rest_width.max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for word in text.split_whitespace() {
        let mut remaining = word;
        loop {
            let limit = if lines.is_empty() { first_width } else { rest_width };
            let remaining_len = remaining.chars().count();
            if current_len == 0 && remaining_len <= limit {
                current.push_str(remaining);
                current_len = remaining_len;
                break;
            } else if current_len == 0 {
                let split = remaining
                    .char_indices()
                    .nth(limit)
                    .map_or(remaining.len(), |(index, _)| index);
                lines.push(remaining[..split].to_owned());
                remaining = &remaining[split..];
            } else if current_len + 1 + remaining_len <= limit {
                current.push(' ');
                current.push_str(remaining);
                current_len += 1 + remaining_len;
                break;
            } else {
                lines.push(std::mem::take(&mut current));
                current_len = 0;
            }
        }
    }
    if current_len > 0 {
        lines.push(current);
    }
    lines
}

/// Bytes 0x80–0xFF of code page 858.
pub(super) const PC858_HIGH: [char; 128] = [
    'Ç', 'ü', 'é', 'â', 'ä', 'à', 'å', 'ç', 'ê', 'ë', 'è', 'ï', 'î', 'ì', 'Ä', 'Å', //
    'É', 'æ', 'Æ', 'ô', 'ö', 'ò', 'û', 'ù', 'ÿ', 'Ö', 'Ü', 'ø', '£', 'Ø', '×', 'ƒ', //
    'á', 'í', 'ó', 'ú', 'ñ', 'Ñ', 'ª', 'º', '¿', '®', '¬', '½', '¼', '¡', '«', '»', //
    '░', '▒', '▓', '│', '┤', 'Á', 'Â', 'À', '©', '╣', '║', '╗', '╝', '¢', '¥', '┐', //
    '└', '┴', '┬', '├', '─', '┼', 'ã', 'Ã', '╚', '╔', '╩', '╦', '╠', '═', '╬', '¤', //
    'ð', 'Ð', 'Ê', 'Ë', 'È', '€', 'Í', 'Î', 'Ï', '┘', '┌', '█', '▄', '¦', 'Ì', '▀', //
    'Ó', 'ß', 'Ô', 'Ò', 'õ', 'Õ', 'µ', 'þ', 'Þ', 'Ú', 'Û', 'Ù', 'ý', 'Ý', '¯', '´', //
    '\u{AD}', '±', '‗', '¾', '¶', '§', '÷', '¸', '°', '¨', '·', '¹', '³', '²', '■', '\u{A0}',
];

/// U+0100–U+017F (Latin Extended-A) without their marks; the ligatures ĳ and œ are
/// expanded separately.
pub(super) const LATIN_EXTENDED_A_BASE: &[u8; 128] =
    b"AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIiIiJjKkkLlLlLlLlLlNnNnNnnNnOoOoOoOoRrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs";

pub(super) fn transliterate_pc858(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() || PC858_HIGH.contains(&c) {
            out.push(c);
            continue;
        }
        match c {
            '\u{300}'..='\u{36F}' => {}
            'Ĳ' => out.push_str("IJ"),
            'ĳ' => out.push_str("ij"),
            'Œ' => out.push_str("OE"),
            'œ' => out.push_str("oe"),
            '\u{100}'..='\u{17F}' => {
                let base = usize::try_from(u32::from(c) - 0x100)
                    .ok()
                    .and_then(|index| LATIN_EXTENDED_A_BASE.get(index));
                out.push(base.map_or('?', |b| char::from(*b)));
            }
            '‐' | '‑' | '‒' | '–' | '—' | '―' | '−' => out.push('-'),
            '‘' | '’' | '‚' | '‛' | '′' => out.push('\''),
            '“' | '”' | '„' | '‟' | '″' => out.push('"'),
            '…' => out.push_str("..."),
            '•' | '‧' | '∙' => out.push('*'),
            '™' => out.push_str("TM"),
            _ => out.push('?'),
        }
    }
    out
}

/// One printable byte per char. Text reaching here is already cleaned and transliterated;
/// anything else still maps to `?` so that no byte below 0x20 can leave as text.
pub(super) fn encode_pc858(c: char) -> u8 {
    match u8::try_from(c) {
        Ok(byte) if (0x20..0x7F).contains(&byte) => byte,
        _ => PC858_HIGH
            .iter()
            .position(|&high| high == c)
            .and_then(|index| u8::try_from(index + 0x80).ok())
            .unwrap_or(b'?'),
    }
}
