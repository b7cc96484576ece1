//! Timestamps as the protocols write them.

/// Unix seconds as RFC 3339 UTC, e.g. `2026-11-29T05:07:53Z`.
pub fn rfc3339(unix: i64) -> String {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    let (year, month, day) = civil(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The start (Unix seconds) of the UTC calendar month after the one `unix` is in.
pub fn next_month(unix: i64) -> i64 {
    let (year, month, _) = civil(unix.div_euclid(86_400));
    let (year, month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    days_from_civil(year, month) * 86_400
}

/// The year, month and day of a Unix day number (Howard Hinnant's days-to-civil).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// The Unix day number of the first of `month` in `year` (Hinnant's inverse).
fn days_from_civil(year: i64, month: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_929_473), "2026-11-29T05:17:53Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn next_month_starts_the_following_utc_month() {
        use super::next_month;
        assert_eq!(rfc3339(next_month(0)), "1970-02-01T00:00:00Z");
        assert_eq!(rfc3339(next_month(951_782_400)), "2000-03-01T00:00:00Z");
        assert_eq!(rfc3339(next_month(1_795_929_473)), "2026-12-01T00:00:00Z");
        let december = 1_796_083_200; // 2026-12-01T00:00:00Z
        assert_eq!(rfc3339(december), "2026-12-01T00:00:00Z");
        assert_eq!(rfc3339(next_month(december)), "2027-01-01T00:00:00Z");
        assert_eq!(rfc3339(next_month(december - 1)), "2026-12-01T00:00:00Z");
    }
}
