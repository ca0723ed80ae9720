//! Matching CSV header names to lead fields, case- and punctuation-insensitively, with the
//! original product's synonyms (company/business, contact name, phone/tel, email/mail) and a
//! few more that real exports use.

use serde::Serialize;

/// A lead field a CSV column can feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Company,
    Contact,
    Phone,
    Email,
    Timezone,
}

impl Field {
    pub fn label(self) -> &'static str {
        match self {
            Field::Company => "company_name",
            Field::Contact => "contact_name",
            Field::Phone => "phone",
            Field::Email => "email",
            Field::Timezone => "timezone",
        }
    }
}

/// Lower-case letters and digits only: `"E-Mail Address"` → `"emailaddress"`.
pub fn normalize(header: &str) -> String {
    header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Which field a header names, if any. Order matters: "contact email" is an email column
/// and "company name" a company column, not a contact name.
pub fn classify(header: &str) -> Option<Field> {
    let n = normalize(header);
    let has = |s: &str| n.contains(s);
    if has("mail") {
        return Some(Field::Email);
    }
    if has("timezone") || matches!(n.as_str(), "tz" | "zone" | "ianatimezone") {
        return Some(Field::Timezone);
    }
    if has("phone")
        || n.starts_with("tel")
        || has("mobile")
        || matches!(n.as_str(), "cell" | "number" | "phonenumber")
    {
        return Some(Field::Phone);
    }
    if has("company")
        || has("business")
        || has("organization")
        || has("organisation")
        || n == "propertytype"
    {
        return Some(Field::Company);
    }
    if (has("contact") && has("name"))
        || matches!(
            n.as_str(),
            "name" | "fullname" | "contact" | "contactperson" | "person"
        )
    {
        return Some(Field::Contact);
    }
    None
}

/// Where each lead field is found in the file's columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ColumnMapping {
    /// Header text of the column used for each field (`null` for an absent optional column).
    pub company_name: String,
    pub contact_name: String,
    pub phone: String,
    pub email: String,
    pub timezone: Option<String>,
    #[serde(skip)]
    pub(crate) index: [Option<usize>; 5],
}

/// Columns a person chose for fields, by header text, overriding detection. For the
/// optional time-zone column an empty name means "do not use one".
#[derive(Debug, Clone, Default)]
pub struct ChosenColumns(pub [Option<String>; 5]);

impl ColumnMapping {
    /// Maps the header row, or explains which required columns are missing.
    pub fn detect(headers: &[String]) -> Result<ColumnMapping, String> {
        Self::detect_with(headers, &ChosenColumns::default())
    }

    /// Like [`ColumnMapping::detect`], with some fields' columns chosen by a person; the
    /// other fields are detected among the remaining columns.
    pub fn detect_with(
        headers: &[String],
        chosen: &ChosenColumns,
    ) -> Result<ColumnMapping, String> {
        let mut index: [Option<usize>; 5] = [None; 5];
        let mut taken = vec![false; headers.len()];
        let mut skip = [false; 5];
        for (slot, name) in chosen.0.iter().enumerate() {
            let Some(name) = name else { continue };
            if name.is_empty() {
                if slot == Field::Timezone as usize {
                    skip[slot] = true;
                    continue;
                }
                return Err("every required field needs a column".into());
            }
            let i = headers
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| format!("the file has no column named \"{name}\""))?;
            index[slot] = Some(i);
            skip[slot] = true;
            taken[i] = true;
        }
        for (i, h) in headers.iter().enumerate() {
            if taken[i] {
                continue;
            }
            if let Some(field) = classify(h).filter(|f| !skip[*f as usize]) {
                let slot = &mut index[field as usize];
                if slot.is_none() {
                    *slot = Some(i);
                }
            }
        }
        let missing: Vec<&str> = [Field::Company, Field::Contact, Field::Phone, Field::Email]
            .into_iter()
            .filter(|f| index[*f as usize].is_none())
            .map(Field::label)
            .collect();
        if !missing.is_empty() {
            let found = if headers.iter().all(|h| h.trim().is_empty()) {
                "no header names".to_owned()
            } else {
                headers
                    .iter()
                    .map(|h| format!("\"{h}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(format!(
                "missing required column(s): {}; the header row has {found}",
                missing.join(", ")
            ));
        }
        let name = |f: Field| index[f as usize].map(|i| headers[i].clone());
        Ok(ColumnMapping {
            company_name: name(Field::Company).unwrap_or_default(),
            contact_name: name(Field::Contact).unwrap_or_default(),
            phone: name(Field::Phone).unwrap_or_default(),
            email: name(Field::Email).unwrap_or_default(),
            timezone: name(Field::Timezone),
            index,
        })
    }

    pub fn column(&self, field: Field) -> Option<usize> {
        self.index[field as usize]
    }

    /// Header text of the column feeding `field_label` (a [`Field::label`]).
    pub fn header_for(&self, field_label: &str) -> String {
        match field_label {
            "company_name" => self.company_name.clone(),
            "contact_name" => self.contact_name.clone(),
            "phone" => self.phone.clone(),
            "email" => self.email.clone(),
            "timezone" => self.timezone.clone().unwrap_or_else(|| "timezone".into()),
            other => other.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn original_synonyms_match() {
        assert_eq!(classify("Company"), Some(Field::Company));
        assert_eq!(classify("business"), Some(Field::Company));
        assert_eq!(classify("Company Name"), Some(Field::Company));
        assert_eq!(classify("contact_name"), Some(Field::Contact));
        assert_eq!(classify("Contact Name"), Some(Field::Contact));
        assert_eq!(classify("Phone"), Some(Field::Phone));
        assert_eq!(classify("tel"), Some(Field::Phone));
        assert_eq!(classify("Telephone"), Some(Field::Phone));
        assert_eq!(classify("email"), Some(Field::Email));
        assert_eq!(classify("E-Mail"), Some(Field::Email));
        assert_eq!(classify("mail"), Some(Field::Email));
        assert_eq!(classify("Time Zone"), Some(Field::Timezone));
        assert_eq!(classify("notes"), None);
    }

    #[test]
    fn compound_names_go_to_the_right_field() {
        assert_eq!(classify("Contact Email"), Some(Field::Email));
        assert_eq!(classify("Contact Phone"), Some(Field::Phone));
        assert_eq!(classify("CONTACT-NAME"), Some(Field::Contact));
    }

    #[test]
    fn detect_maps_and_reports_missing() {
        let m = ColumnMapping::detect(&hs(&["Business", "Name", "Tel", "Mail", "TZ", "extra"]))
            .unwrap();
        assert_eq!(m.column(Field::Company), Some(0));
        assert_eq!(m.column(Field::Contact), Some(1));
        assert_eq!(m.column(Field::Timezone), Some(4));
        assert_eq!(m.phone, "Tel");
        let err = ColumnMapping::detect(&hs(&["company", "phone"])).unwrap_err();
        assert!(err.contains("contact_name, email"), "{err}");
        assert!(err.contains("\"company\""), "{err}");
    }

    #[test]
    fn first_matching_column_wins() {
        let m = ColumnMapping::detect(&hs(&["company", "contact", "phone", "mobile", "email"]))
            .unwrap();
        assert_eq!(m.column(Field::Phone), Some(2));
    }
}
