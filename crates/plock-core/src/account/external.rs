//! External system identifiers (docs/domain.md, section 3.3): the account's records in CRM
//! and ERP systems.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::id::IdError;

/// The longest external id or system name, in characters.
pub const MAX_EXTERNAL_CHARS: usize = 128;

/// A system an account links to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ExternalSystem {
    /// HubSpot CRM.
    HubSpot,
    /// Salesforce CRM.
    Salesforce,
    /// Fortnox ERP.
    Fortnox,
    /// Microsoft Dynamics 365 Business Central ERP.
    BusinessCentral,
    /// Netvisor ERP.
    Netvisor,
    /// Kleer ERP.
    Kleer,
    /// Any other named system (lower-case name).
    Other(String),
}

/// What an external system is to plock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SystemKind {
    /// Customer relationship management.
    Crm,
    /// Accounting: invoices are posted to its debtors.
    Erp,
    /// Anything else.
    Other,
}

impl ExternalSystem {
    /// Is it a CRM, an ERP or something else?
    pub fn kind(&self) -> SystemKind {
        match self {
            ExternalSystem::HubSpot | ExternalSystem::Salesforce => SystemKind::Crm,
            ExternalSystem::Fortnox
            | ExternalSystem::BusinessCentral
            | ExternalSystem::Netvisor
            | ExternalSystem::Kleer => SystemKind::Erp,
            ExternalSystem::Other(_) => SystemKind::Other,
        }
    }

    /// The stable lower-case name (`hubspot`, `business_central`, ...).
    pub fn name(&self) -> &str {
        match self {
            ExternalSystem::HubSpot => "hubspot",
            ExternalSystem::Salesforce => "salesforce",
            ExternalSystem::Fortnox => "fortnox",
            ExternalSystem::BusinessCentral => "business_central",
            ExternalSystem::Netvisor => "netvisor",
            ExternalSystem::Kleer => "kleer",
            ExternalSystem::Other(name) => name,
        }
    }
}

impl fmt::Display for ExternalSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ExternalSystem {
    type Err = IdError;

    /// Parses a system name, case-insensitively; unknown names become [`ExternalSystem::Other`].
    fn from_str(s: &str) -> Result<ExternalSystem, IdError> {
        let name = s.trim().to_lowercase();
        Ok(match name.as_str() {
            "hubspot" => ExternalSystem::HubSpot,
            "salesforce" => ExternalSystem::Salesforce,
            "fortnox" => ExternalSystem::Fortnox,
            "business_central" | "businesscentral" => ExternalSystem::BusinessCentral,
            "netvisor" => ExternalSystem::Netvisor,
            "kleer" => ExternalSystem::Kleer,
            _ => {
                let valid = !name.is_empty()
                    && name.chars().count() <= MAX_EXTERNAL_CHARS
                    && name
                        .chars()
                        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
                if !valid {
                    return Err(IdError::refused(
                        "external system",
                        s,
                        "must be 1 to 128 letters, digits, '_', '-' or '.'",
                    ));
                }
                ExternalSystem::Other(name)
            }
        })
    }
}

impl TryFrom<String> for ExternalSystem {
    type Error = IdError;
    fn try_from(s: String) -> Result<ExternalSystem, IdError> {
        s.parse()
    }
}

impl From<ExternalSystem> for String {
    fn from(s: ExternalSystem) -> String {
        s.name().to_owned()
    }
}

/// An account's id in an external system (a HubSpot company id, a Fortnox customer number).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExternalId(String);

impl ExternalId {
    /// Validates an id: trimmed, 1..=128 characters, no control characters.
    ///
    /// # Errors
    /// [`IdError`] naming `external id`.
    ///
    /// # Examples
    ///
    /// ```
    /// use plock_core::account::{ExternalId, ExternalSystem, SystemKind};
    ///
    /// let customer_number = ExternalId::new("5001")?;
    /// assert_eq!(customer_number.as_str(), "5001");
    /// assert_eq!(ExternalSystem::Fortnox.kind(), SystemKind::Erp);
    /// assert_eq!(ExternalSystem::HubSpot.kind(), SystemKind::Crm);
    /// # Ok::<(), plock_core::id::IdError>(())
    /// ```
    pub fn new(text: &str) -> Result<ExternalId, IdError> {
        let trimmed = text.trim();
        if trimmed.is_empty()
            || trimmed.chars().count() > MAX_EXTERNAL_CHARS
            || trimmed.chars().any(char::is_control)
        {
            return Err(IdError::refused(
                "external id",
                text,
                "must be 1 to 128 characters without control characters",
            ));
        }
        Ok(ExternalId(trimmed.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ExternalId {
    type Error = IdError;
    fn try_from(s: String) -> Result<ExternalId, IdError> {
        ExternalId::new(&s)
    }
}

impl From<ExternalId> for String {
    fn from(id: ExternalId) -> String {
        id.0
    }
}

/// An account's external ids: at most one per system.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExternalIds(BTreeMap<ExternalSystem, ExternalId>);

impl ExternalIds {
    /// No external ids.
    pub(crate) const EMPTY: ExternalIds = ExternalIds(BTreeMap::new());

    /// The id in `system`, if any.
    pub fn get(&self, system: &ExternalSystem) -> Option<&ExternalId> {
        self.0.get(system)
    }

    /// Every (system, id), sorted by system.
    pub fn iter(&self) -> impl Iterator<Item = (&ExternalSystem, &ExternalId)> {
        self.0.iter()
    }

    /// The ids in ERP systems: the debtor ids an invoice carries.
    pub fn erp(&self) -> BTreeMap<ExternalSystem, ExternalId> {
        self.0
            .iter()
            .filter(|(s, _)| s.kind() == SystemKind::Erp)
            .map(|(s, id)| (s.clone(), id.clone()))
            .collect()
    }

    /// How many systems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No ids?
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn set(&mut self, system: ExternalSystem, id: ExternalId) -> Option<ExternalId> {
        self.0.insert(system, id)
    }

    pub(crate) fn remove(&mut self, system: &ExternalSystem) -> Option<ExternalId> {
        self.0.remove(system)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_names_round_trip_and_kinds() {
        for s in [
            "hubspot",
            "salesforce",
            "fortnox",
            "business_central",
            "netvisor",
            "kleer",
            "pipedrive",
        ] {
            let system: ExternalSystem = s.parse().unwrap();
            assert_eq!(system.to_string(), s);
        }
        assert_eq!(
            "HubSpot".parse::<ExternalSystem>().unwrap(),
            ExternalSystem::HubSpot
        );
        assert_eq!(ExternalSystem::Kleer.kind(), SystemKind::Erp);
        assert_eq!(ExternalSystem::Salesforce.kind(), SystemKind::Crm);
        assert_eq!(ExternalSystem::Other("x".into()).kind(), SystemKind::Other);
        assert!("".parse::<ExternalSystem>().is_err());
        assert!("has space".parse::<ExternalSystem>().is_err());
    }

    #[test]
    fn external_id_validation() {
        assert_eq!(ExternalId::new(" 1001 ").unwrap().as_str(), "1001");
        assert!(ExternalId::new("").is_err());
        assert!(ExternalId::new(&"9".repeat(MAX_EXTERNAL_CHARS)).is_ok());
        assert!(ExternalId::new(&"9".repeat(MAX_EXTERNAL_CHARS + 1)).is_err());
    }

    #[test]
    fn one_id_per_system_and_erp_view() {
        let mut ids = ExternalIds::default();
        ids.set(ExternalSystem::Fortnox, ExternalId::new("1").unwrap());
        let old = ids.set(ExternalSystem::Fortnox, ExternalId::new("2").unwrap());
        assert_eq!(old.unwrap().as_str(), "1");
        ids.set(ExternalSystem::HubSpot, ExternalId::new("h").unwrap());
        assert_eq!(ids.len(), 2);
        let erp = ids.erp();
        assert_eq!(erp.len(), 1);
        assert_eq!(erp[&ExternalSystem::Fortnox].as_str(), "2");
    }
}
