//! What a bundle download counts against usage caps (`licensing::caps`,
//! docs/bundles.md). A bundle is a download: a customer's download counts each of
//! its versions as a pull under the license that grants that version (the one a
//! registry pull of it would count against), and the bytes it is sent against
//! those licenses; a customer over a cap is refused the whole bundle, as the
//! registry refuses the pull. Vendor staff's downloads are neither counted nor
//! capped, as their pulls are not.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::licensing::license::Access;

/// Who downloads a bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    /// One of the bundle's customer's users: counted and capped.
    Customer,
    /// Vendor staff: neither.
    Vendor,
}

/// The license each version counts against (`None`: counted nowhere), given each
/// version's [`Access`] at `now`: refused as missing when any version is no longer
/// granted, with a cap's error when a customer is over a cap for any.
pub fn counted_against(
    access: Vec<Access>,
    reader: Reader,
    now: i64,
) -> Result<Vec<Option<String>>> {
    if access.contains(&Access::Refused) {
        return Err(Error::NotFound("bundle"));
    }
    match reader {
        Reader::Vendor => Ok(vec![None; access.len()]),
        Reader::Customer => access
            .into_iter()
            .map(|a| a.allow(Error::NotFound("bundle"), now))
            .collect(),
    }
}

/// `sent` bytes of a bundle shared among the licenses its versions count against:
/// an equal share per version (the first takes the remainder), summed per license.
/// The versions of a bundle share blobs, so no finer attribution is exact.
pub fn bytes_by_license(licenses: &[Option<String>], sent: u64) -> Vec<(String, u64)> {
    let Some(count) = u64::try_from(licenses.len()).ok().filter(|&n| n > 0) else {
        return Vec::new();
    };
    let mut shares: BTreeMap<&str, u64> = BTreeMap::new();
    for (i, license) in licenses.iter().enumerate() {
        let remainder = if i == 0 { sent % count } else { 0 };
        if let Some(license) = license {
            *shares.entry(license).or_default() += sent / count + remainder;
        }
    }
    shares
        .into_iter()
        .filter(|&(_, bytes)| bytes > 0)
        .map(|(license, bytes)| (license.to_owned(), bytes))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::licensing::caps::{Cap, OverCap};

    fn granted(license: &str) -> Access {
        Access::Granted {
            license: Some(license.into()),
        }
    }

    fn over() -> Access {
        Access::OverCap(OverCap {
            cap: Cap::Pulls,
            limit: 3,
            resets_at: 2_000,
        })
    }

    #[test]
    fn a_customer_counts_each_version_under_its_license() {
        let got = counted_against(vec![granted("a"), granted("b")], Reader::Customer, 1_000);
        assert_eq!(got, Ok(vec![Some("a".into()), Some("b".into())]));
    }

    #[test]
    fn a_customer_over_a_cap_for_any_version_is_refused_the_bundle() {
        let got = counted_against(vec![granted("a"), over()], Reader::Customer, 1_000);
        assert!(matches!(
            got,
            Err(Error::CapReached {
                retry_after: 1_000,
                ..
            })
        ));
    }

    #[test]
    fn a_version_no_longer_granted_refuses_the_bundle_as_missing_for_anyone() {
        for reader in [Reader::Customer, Reader::Vendor] {
            let got = counted_against(vec![over(), Access::Refused], reader, 1_000);
            assert_eq!(got, Err(Error::NotFound("bundle")));
        }
    }

    #[test]
    fn vendor_staff_are_neither_counted_nor_capped() {
        let got = counted_against(vec![granted("a"), over()], Reader::Vendor, 1_000);
        assert_eq!(got, Ok(vec![None, None]));
    }

    #[test]
    fn bytes_are_shared_per_version_and_summed_per_license() {
        let licenses = [Some("b".into()), Some("a".into()), Some("b".into())];
        assert_eq!(
            bytes_by_license(&licenses, 10),
            [("a".to_owned(), 3), ("b".to_owned(), 7)]
        );
        assert_eq!(bytes_by_license(&[None, None], 10), []);
        assert_eq!(bytes_by_license(&[], 10), []);
    }
}
