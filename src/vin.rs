//! Vehicle identification numbers (ISO 3779 / FMVSS 565 layout, as used in China by GB 16735).
//!
//! A VIN has 17 characters from `0-9` and `A-Z` without `I`, `O` and `Q`.
//! Position 9 is a check digit computed from the other sixteen; position 10
//! codes the model year.

/// Why a string is not a valid VIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VinError {
    /// Not 17 characters long.
    #[error("expected 17 characters, found {0}")]
    Length(usize),
    /// A character outside the VIN alphabet.
    #[error(
        "character `{ch}` at position {position} is not allowed in a VIN (I, O, Q and non-alphanumerics never are)"
    )]
    Character {
        /// The offending character.
        ch: char,
        /// 1-based position.
        position: usize,
    },
    /// The check digit in position 9 does not match.
    #[error("check digit is `{found}`, expected `{expected}`")]
    CheckDigit {
        /// The character in position 9.
        found: char,
        /// The computed check digit.
        expected: char,
    },
}

const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

/// Transliteration value of a VIN character, `None` if it is not allowed.
fn value(ch: u8) -> Option<u32> {
    match VALUES[ch as usize] {
        NOT_ALLOWED => None,
        v => Some(u32::from(v)),
    }
}

const NOT_ALLOWED: u8 = u8::MAX;

/// [`value`] of every byte, as a table: VINs are checked on every row of
/// three tables, and one load beats a chain of comparisons.
const VALUES: [u8; 256] = {
    let mut table = [NOT_ALLOWED; 256];
    let mut ch = 0;
    while ch < 256 {
        let c = ch as u8;
        table[ch] = match c {
            b'0'..=b'9' => c - b'0',
            b'A' | b'J' => 1,
            b'B' | b'K' | b'S' => 2,
            b'C' | b'L' | b'T' => 3,
            b'D' | b'M' | b'U' => 4,
            b'E' | b'N' | b'V' => 5,
            b'F' | b'W' => 6,
            b'G' | b'P' | b'X' => 7,
            b'H' | b'Y' => 8,
            b'R' | b'Z' => 9,
            _ => NOT_ALLOWED,
        };
        ch += 1;
    }
    table
};

/// Computes the check digit (`0`-`9` or `X`) of a 17-byte VIN; position 9 is ignored.
pub fn check_digit(vin: &[u8; 17]) -> Option<u8> {
    let mut sum = 0;
    for (i, &ch) in vin.iter().enumerate() {
        if i == 8 {
            continue;
        }
        sum += value(ch)? * WEIGHTS[i];
    }
    let rem = sum % 11;
    Some(if rem == 10 { b'X' } else { b'0' + rem as u8 })
}

/// Validates a VIN: length, alphabet and check digit.
///
/// ```
/// use aftersight::vin::{validate, VinError};
///
/// assert_eq!(validate("1M8GDM9AXKP042788"), Ok(()));
/// assert_eq!(
///     validate("1M8GDM9A1KP042788"),
///     Err(VinError::CheckDigit { found: '1', expected: 'X' })
/// );
/// ```
pub fn validate(vin: &str) -> Result<(), VinError> {
    let bytes: &[u8; 17] = vin
        .as_bytes()
        .try_into()
        .map_err(|_| VinError::Length(vin.chars().count()))?;
    for (i, &ch) in bytes.iter().enumerate() {
        if value(ch).is_none() {
            let ch = vin[i..].chars().next().unwrap_or('?');
            return Err(VinError::Character {
                ch,
                position: i + 1,
            });
        }
    }
    let expected = check_digit(bytes).expect("every character was checked above");
    if bytes[8] != expected {
        return Err(VinError::CheckDigit {
            found: char::from(bytes[8]),
            expected: char::from(expected),
        });
    }
    Ok(())
}

/// The VIN position-10 code of a model year (30-year cycle, 1980 = `A` … 2009 = `9`, 2010 = `A`).
pub fn model_year_code(year: i32) -> u8 {
    const CODES: &[u8; 30] = b"ABCDEFGHJKLMNPRSTVWXY123456789";
    CODES[(year - 1980).rem_euclid(30) as usize]
}

/// Builds a VIN from its parts and fills in the check digit.
///
/// `wmi` is the 3-character manufacturer code, `vds` the 5-character
/// descriptor, `plant` one character and `serial` the last six digits.
pub fn build(wmi: &str, vds: &str, model_year: i32, plant: u8, serial: u32) -> String {
    let mut v = [b'0'; 17];
    v[..3].copy_from_slice(&wmi.as_bytes()[..3]);
    v[3..8].copy_from_slice(&vds.as_bytes()[..5]);
    v[9] = model_year_code(model_year);
    v[10] = plant;
    let serial = format!("{:06}", serial % 1_000_000);
    v[11..].copy_from_slice(serial.as_bytes());
    v[8] = check_digit(&v).expect("generator builds VINs from the allowed alphabet");
    String::from_utf8(v.to_vec()).expect("ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_valid_vins_pass() {
        // Published examples with correct check digits.
        assert_eq!(validate("1M8GDM9AXKP042788"), Ok(()));
        assert_eq!(validate("11111111111111111"), Ok(()));
    }

    #[test]
    fn wrong_check_digit_is_reported() {
        assert_eq!(
            validate("1M8GDM9A1KP042788"),
            Err(VinError::CheckDigit {
                found: '1',
                expected: 'X'
            })
        );
    }

    #[test]
    fn bad_length_and_letters_are_reported() {
        assert_eq!(validate("ABC"), Err(VinError::Length(3)));
        assert!(matches!(
            validate("1M8GDM9AXKP04278O"),
            Err(VinError::Character {
                ch: 'O',
                position: 17
            })
        ));
        assert_eq!(validate("比亚迪"), Err(VinError::Length(3)));
    }

    #[test]
    fn built_vins_validate() {
        for serial in 0..500 {
            let vin = build(
                "LGX",
                "CE4CC",
                2016 + (serial as i32 % 11),
                b'S',
                serial * 7919,
            );
            assert_eq!(validate(&vin), Ok(()), "{vin}");
        }
        assert_eq!(model_year_code(2024), b'R');
        assert_eq!(model_year_code(2016), b'G');
    }
}
