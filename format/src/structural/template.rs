//! A row's text as a template and its numbers: `{"pid":#,"name":"code","cpu_percent":#.#}`
//! and `[4242, 12]`. Rows of one program share a template (names and users interned per host
//! for free), and what changes between two snapshots is numbers, stored as small differences.
//!
//! A number is taken out only in its plain decimal spelling (`-?(0|[1-9][0-9]*)(\.[0-9]+)?`,
//! at most 18 digits): it is written back exactly from its digits and decimal places, and the
//! places stay in the template. Any other spelling (exponents, `-0`) stays in the template as
//! text, so every row is rebuilt byte for byte.

/// Marks a number's place in a template; followed by the number's decimal places.
pub(crate) const NUMBER: u8 = 0;

/// Most digits of a number taken out of the text (an `i64` holds 18 for sure).
const MAX_DIGITS: usize = 18;

/// Cuts `text` into its template (appended to `template`) and numbers (appended to `numbers`).
/// The text must hold no [`NUMBER`] byte (JSON text never does; the caller checks).
pub(crate) fn tokenize(text: &[u8], template: &mut Vec<u8>, numbers: &mut Vec<i64>) {
    let mut i = 0;
    while i < text.len() {
        // Outside strings: a few delimiters and the numbers.
        let quote = memchr::memchr(b'"', &text[i..]).map_or(text.len(), |q| i + q);
        while i < quote {
            let b = text[i];
            if b == b'-' || b.is_ascii_digit() {
                let end = number_end(text, i);
                match plain_number(&text[i..end]) {
                    Some((mantissa, places)) => {
                        template.push(NUMBER);
                        template.push(places);
                        numbers.push(mantissa);
                    }
                    None => template.extend_from_slice(&text[i..end]),
                }
                i = end;
            } else {
                template.push(b);
                i += 1;
            }
        }
        if i >= text.len() {
            break;
        }
        let end = super::split::string_end(text, i + 1).map_or(text.len(), |e| e + 1);
        template.extend_from_slice(&text[i..end]);
        i = end;
    }
}

/// Writes `template` back with `numbers` in its places, appending to `out`; `None` when the
/// numbers do not fit the template.
pub(crate) fn render(template: &[u8], numbers: &[i64], out: &mut Vec<u8>) -> Option<()> {
    let mut numbers = numbers.iter();
    let mut i = 0;
    while let Some(at) = memchr::memchr(NUMBER, &template[i..]) {
        out.extend_from_slice(&template[i..i + at]);
        let places = *template.get(i + at + 1)?;
        write_number(*numbers.next()?, places, out);
        i += at + 2;
    }
    out.extend_from_slice(&template[i..]);
    numbers.next().is_none().then_some(())
}

/// How many numbers `template` takes.
pub(crate) fn arity(template: &[u8]) -> usize {
    let mut count = 0;
    let mut i = 0;
    while let Some(at) = memchr::memchr(NUMBER, &template[i..]) {
        count += 1;
        i += at + 2;
        if i > template.len() {
            break;
        }
    }
    count
}

fn number_end(text: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < text.len() && matches!(text[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
        i += 1;
    }
    i
}

/// `(mantissa, decimal places)` of a number in its plain spelling, else `None`.
fn plain_number(token: &[u8]) -> Option<(i64, u8)> {
    let (negative, digits) = match token.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, token),
    };
    let (int, frac) = match digits.iter().position(|b| *b == b'.') {
        Some(dot) => (&digits[..dot], Some(&digits[dot + 1..])),
        None => (digits, None),
    };
    let plain = |d: &[u8]| !d.is_empty() && d.iter().all(u8::is_ascii_digit);
    if !plain(int) || (int.len() > 1 && int[0] == b'0') || frac.is_some_and(|f| !plain(f)) {
        return None;
    }
    let frac = frac.unwrap_or(&[]);
    if int.len() + frac.len() > MAX_DIGITS {
        return None;
    }
    let mut mantissa = 0i64;
    for d in int.iter().chain(frac) {
        mantissa = mantissa * 10 + i64::from(d - b'0');
    }
    if negative {
        if mantissa == 0 {
            // `-0` and `-0.0` have no mantissa of their own: kept as text.
            return None;
        }
        mantissa = -mantissa;
    }
    Some((mantissa, u8::try_from(frac.len()).ok()?))
}

fn write_number(mantissa: i64, places: u8, out: &mut Vec<u8>) {
    if mantissa < 0 {
        out.push(b'-');
    }
    let mut digits = [0u8; 20];
    let mut n = mantissa.unsigned_abs();
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        n /= 10;
        len += 1;
        if n == 0 {
            break;
        }
    }
    let places = usize::from(places);
    let width = len.max(places + 1);
    for position in (0..width).rev() {
        out.push(if position < len {
            digits[position]
        } else {
            b'0'
        });
        if position == places && places > 0 {
            out.push(b'.');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> (Vec<u8>, Vec<i64>) {
        let (mut template, mut numbers) = (Vec::new(), Vec::new());
        tokenize(text.as_bytes(), &mut template, &mut numbers);
        let mut back = Vec::new();
        render(&template, &numbers, &mut back).unwrap();
        assert_eq!(String::from_utf8_lossy(&back), text);
        assert_eq!(arity(&template), numbers.len());
        (template, numbers)
    }

    #[test]
    fn numbers_come_out_and_go_back_exactly() {
        let (t, n) = round_trip(r#"{"pid":4242,"name":"a1 \"2\"","cpu_percent":0.05,"m":-1.5}"#);
        assert_eq!(n, vec![4242, 5, -15]);
        assert_eq!(arity(&t), 3);
        for odd in [
            "1e5",
            "-0",
            "-0.0",
            "0.0",
            "007",
            "1.",
            "-",
            "12345678901234567890",
            "1E-2",
        ] {
            round_trip(&format!(r#"{{"x":{odd},"y":[{odd}]}}"#));
        }
    }

    #[test]
    fn same_program_same_template() {
        let a = round_trip(r#"{"pid":1,"name":"code","cpu_percent":0.0}"#);
        let b = round_trip(r#"{"pid":77,"name":"code","cpu_percent":12.5}"#);
        assert_eq!(a.0, b.0);
        let c = round_trip(r#"{"pid":77,"name":"code","cpu_percent":12}"#);
        assert_ne!(a.0, c.0, "an integer is not spelt as a one-place decimal");
    }
}
