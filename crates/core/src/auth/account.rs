//! Who is asking: the roles an account can hold, the identity a request carries
//! once its credentials check out, and the validated fields of new accounts.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What an account may do, before licenses narrow a customer's view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    ReadWrite,
    ReadOnly,
    Customer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::ReadWrite, Role::ReadOnly, Role::Customer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::ReadWrite => "read_write",
            Role::ReadOnly => "read_only",
            Role::Customer => "customer",
        }
    }

    /// A vendor role by name; `customer` is not one (customer users are created
    /// under their customer).
    pub fn parse_vendor(s: &str) -> Result<Role> {
        match s {
            "admin" => Ok(Role::Admin),
            "read_write" => Ok(Role::ReadWrite),
            "read_only" => Ok(Role::ReadOnly),
            _ => Err(Error::Invalid(format!(
                "role must be admin, read_write or read_only, not {s:?}"
            ))),
        }
    }
}

/// An authenticated account, as every authorization decision sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub user_id: String,
    pub email: String,
    pub role: Role,
    pub customer_id: Option<String>,
    /// The personal access token the request was made with, if any: revoking it
    /// ends every bearer token issued from it.
    pub token_id: Option<String>,
}

/// An account's sign-in name. It doubles as the registry username, so it may not
/// contain `:` (HTTP Basic splits there) or whitespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Email> {
        let s = s.trim();
        let (local, domain) = s
            .split_once('@')
            .ok_or_else(|| Error::Invalid("email must contain @".into()))?;
        let valid = !local.is_empty()
            && !domain.is_empty()
            && s.len() <= 254
            && !s
                .chars()
                .any(|c| c == ':' || c.is_whitespace() || c.is_control());
        if valid {
            Ok(Email(s.to_owned()))
        } else {
            Err(Error::Invalid(format!(
                "{s:?} is not a usable email address"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text a person typed (names, notes): bounded and without control characters
/// other than newlines in longer fields.
pub fn text_field(field: &str, value: &str, max: usize, required: bool) -> Result<String> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(Error::Invalid(format!("{field} must not be empty")));
    }
    if value.chars().count() > max {
        return Err(Error::Invalid(format!(
            "{field} is longer than {max} characters"
        )));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Error::Invalid(format!(
            "{field} contains control characters"
        )));
    }
    Ok(value.to_owned())
}

/// Passwords shorter than this are refused when set.
pub const MIN_PASSWORD_LEN: usize = 12;

pub fn check_new_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(Error::Invalid(format!(
            "password must have at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    if password.len() > 1024 {
        return Err(Error::Invalid("password is longer than 1024 bytes".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_usable_as_registry_usernames() {
        assert_eq!(Email::parse(" a@b.c ").unwrap().as_str(), "a@b.c");
        for bad in ["", "ab.c", "@b.c", "a@", "a b@c.d", "a:b@c.d", "a@b\u{7}"] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn vendor_roles_parse_and_customer_is_not_one() {
        for role in [Role::Admin, Role::ReadWrite, Role::ReadOnly] {
            assert_eq!(Role::parse_vendor(role.as_str()).unwrap(), role);
        }
        assert!(Role::parse_vendor("customer").is_err());
        assert!(Role::parse_vendor("root").is_err());
    }

    #[test]
    fn text_fields_are_bounded() {
        assert_eq!(text_field("name", " Acme ", 10, true).unwrap(), "Acme");
        assert!(text_field("name", "  ", 10, true).is_err());
        assert_eq!(text_field("notes", "", 10, false).unwrap(), "");
        assert!(text_field("name", "abcdefghijk", 10, true).is_err());
        assert!(text_field("name", "a\u{0}b", 10, true).is_err());
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("long enough password").is_ok());
    }
}
