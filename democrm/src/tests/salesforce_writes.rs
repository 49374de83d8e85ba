//! Tests of the Salesforce demo's writes; they must never depend on crmgate.
