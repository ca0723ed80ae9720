//! Phone numbers in E.164, the one canonical form used for dialing and de-duplication.

use std::{fmt, str::FromStr};

use phonenumber::country;

use super::FieldError;

/// A region (ISO 3166-1 alpha-2, e.g. `US`) used to interpret numbers written without a
/// country code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region(country::Id);

impl Region {
    /// The default when settings say nothing: the original product dialed US numbers.
    pub const US: Region = Region(country::Id::US);

    pub fn parse(code: &str) -> Result<Self, FieldError> {
        let upper = code.trim().to_ascii_uppercase();
        if upper.len() != 2 {
            return Err(FieldError::new(
                "default_region",
                "must be a two-letter ISO country code such as US or GB",
            ));
        }
        country::Id::from_str(&upper).map(Region).map_err(|_| {
            FieldError::new(
                "default_region",
                format!("{upper} is not a country code with a phone numbering plan"),
            )
        })
    }

    pub fn code(&self) -> String {
        format!("{:?}", self.0)
    }
}

/// A validated phone number, stored and displayed in E.164 (`+14155550123`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Parses what a person typed (spaces, dashes, brackets, a leading `+` or a national
    /// number) and keeps it only if the numbering plan says it can exist.
    pub fn parse(input: &str, region: Region) -> Result<Self, FieldError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new("phone", "is required"));
        }
        if trimmed.len() > 40 {
            return Err(FieldError::new("phone", "is too long to be a phone number"));
        }
        // Spreadsheets often drop the `+` of international numbers written as 00 or 011 prefixes;
        // the parser handles those itself given the region.
        let number = phonenumber::parse(Some(region.0), trimmed)
            .map_err(|_| FieldError::new("phone", "is not a phone number"))?;
        if !phonenumber::is_valid(&number) {
            return Err(FieldError::new(
                "phone",
                "is not a valid number for its country",
            ));
        }
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        Ok(Phone(e164))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_us_numbers_get_the_country_code() {
        let p = Phone::parse("(415) 555-2671", Region::US).unwrap();
        assert_eq!(p.as_str(), "+14155552671");
        let p = Phone::parse("415.555.2671", Region::US).unwrap();
        assert_eq!(p.as_str(), "+14155552671");
    }

    #[test]
    fn international_numbers_keep_their_country() {
        let p = Phone::parse("+44 20 7946 0958", Region::US).unwrap();
        assert_eq!(p.as_str(), "+442079460958");
    }

    #[test]
    fn region_changes_national_interpretation() {
        let gb = Region::parse("gb").unwrap();
        let p = Phone::parse("020 7946 0958", gb).unwrap();
        assert_eq!(p.as_str(), "+442079460958");
        assert_eq!(gb.code(), "GB");
    }

    #[test]
    fn rejects_garbage_and_impossible_numbers() {
        assert!(Phone::parse("", Region::US).is_err());
        assert!(Phone::parse("call me maybe", Region::US).is_err());
        assert!(Phone::parse("123", Region::US).is_err());
        // 555-01xx numbers are reserved for fiction and are not valid US numbers.
        assert!(Phone::parse("+1-555-0123", Region::US).is_err());
    }

    #[test]
    fn region_codes_are_checked() {
        assert!(Region::parse("US").is_ok());
        assert!(Region::parse("XX").is_err());
        assert!(Region::parse("USA").is_err());
    }
}
