//! The Salesforce REST profile. This file must never hold more than the module list until
//! the profile around the query language lands; it never decides on access itself.

pub mod soql;
