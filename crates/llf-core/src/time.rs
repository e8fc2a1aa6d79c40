//! Dates typed by people (`--since`, `--until`) and written by older tools.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::{Error, Result};

/// Reads a point in time given by a user or an imported file:
///
/// - an RFC 3339 time with an offset: `2025-01-31T12:00:00Z`, `2025-01-31T13:00:00+01:00`;
/// - a time without offset, read as UTC (what Python's `datetime.isoformat()` writes):
///   `2025-01-31T12:00:00`, `2025-01-31T12:00:00.123456`, or with a space for the `T`;
/// - a day: `2025-01-31`, meaning its first instant in UTC.
///
/// ```
/// use llf_core::time::parse_date;
/// let t = parse_date("2025-01-31")?;
/// assert_eq!(t.to_rfc3339(), "2025-01-31T00:00:00+00:00");
/// assert!(parse_date("last tuesday").is_err());
/// # Ok::<(), llf_core::Error>(())
/// ```
pub fn parse_date(text: &str) -> Result<DateTime<Utc>> {
    let s = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Ok(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| Error::InvalidDate {
            input: text.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn reads_every_documented_form() {
        let noon = Utc.with_ymd_and_hms(2025, 1, 31, 12, 0, 0).unwrap();
        assert_eq!(parse_date("2025-01-31T12:00:00Z").unwrap(), noon);
        assert_eq!(parse_date("2025-01-31T13:00:00+01:00").unwrap(), noon);
        assert_eq!(parse_date("2025-01-31T12:00:00").unwrap(), noon);
        assert_eq!(parse_date("2025-01-31 12:00:00").unwrap(), noon);
        assert_eq!(
            parse_date("2025-01-31T12:00:00.250").unwrap(),
            noon + chrono::Duration::milliseconds(250)
        );
        assert_eq!(
            parse_date(" 2025-01-31 ").unwrap(),
            Utc.with_ymd_and_hms(2025, 1, 31, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn refuses_other_text_with_the_accepted_forms() {
        for bad in ["", "31/01/2025", "2025-02-30", "yesterday"] {
            let err = parse_date(bad).unwrap_err();
            assert!(matches!(err, Error::InvalidDate { .. }), "{bad}");
            assert!(err.to_string().contains("YYYY-MM-DD"), "{err}");
        }
    }
}
