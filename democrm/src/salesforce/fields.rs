//! The Salesforce demo's objects and their fields: `Contact`, `Lead` and `Account`,
//! each field with its type, label, length, whether a write may set it, and the
//! HubSpot demo property it is seeded from (so both demos hold the same people).
//! Data only: it must never hold a record, a value or anything that changes.

/// The sObject types the demo serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum SObject {
    Contact,
    Lead,
    Account,
}

/// Every sObject type, in the order the global describe lists them.
pub(crate) const ALL: [SObject; 3] = [SObject::Account, SObject::Contact, SObject::Lead];

impl SObject {
    /// The type named in a path or a `FROM` (case-insensitive, as Salesforce).
    pub(crate) fn parse(name: &str) -> Option<SObject> {
        ALL.into_iter()
            .find(|kind| kind.name().eq_ignore_ascii_case(name))
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            SObject::Contact => "Contact",
            SObject::Lead => "Lead",
            SObject::Account => "Account",
        }
    }

    pub(crate) fn label_plural(self) -> &'static str {
        match self {
            SObject::Contact => "Contacts",
            SObject::Lead => "Leads",
            SObject::Account => "Accounts",
        }
    }

    /// The first three characters of every id of the type.
    pub(crate) fn key_prefix(self) -> &'static str {
        match self {
            SObject::Contact => "003",
            SObject::Lead => "00Q",
            SObject::Account => "001",
        }
    }

    /// The type an id's key prefix names.
    pub(crate) fn of_prefix(prefix: &str) -> Option<SObject> {
        ALL.into_iter().find(|kind| kind.key_prefix() == prefix)
    }

    pub(crate) fn fields(self) -> &'static [Field] {
        match self {
            SObject::Contact => &CONTACT,
            SObject::Lead => &LEAD,
            SObject::Account => &ACCOUNT,
        }
    }

    /// A field by name, case-insensitive (as SOQL and the REST API match names).
    pub(crate) fn field(self, name: &str) -> Option<&'static Field> {
        self.fields()
            .iter()
            .find(|field| field.name.eq_ignore_ascii_case(name))
    }

    /// The parent relationship `name` names on this type (`Account` on `Contact`):
    /// the reference field holding the parent's id and the parent's type.
    pub(crate) fn relationship(self, name: &str) -> Option<(&'static Field, SObject)> {
        self.fields().iter().find_map(|field| match field.kind {
            Kind::Reference(parent)
                if field
                    .relationship
                    .is_some_and(|rel| rel.eq_ignore_ascii_case(name)) =>
            {
                Some((field, parent))
            }
            _ => None,
        })
    }

    /// The fields an upsert or a lookup may name in the path (`External_Id__c`;
    /// `Email` on contacts and leads, as the demo's idLookup).
    pub(crate) fn lookup_field(self, name: &str) -> Option<&'static Field> {
        self.field(name)
            .filter(|field| field.external_id || field.id_lookup)
    }
}

/// A field's type, as the describe names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Id,
    String,
    Email,
    Phone,
    Url,
    TextArea,
    Picklist,
    MultiPicklist,
    Boolean,
    Date,
    DateTime,
    Int,
    Currency,
    Reference(SObject),
}

impl Kind {
    /// The describe's `type`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Id => "id",
            Kind::String => "string",
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::Url => "url",
            Kind::TextArea => "textarea",
            Kind::Picklist => "picklist",
            Kind::MultiPicklist => "multipicklist",
            Kind::Boolean => "boolean",
            Kind::Date => "date",
            Kind::DateTime => "datetime",
            Kind::Int => "int",
            Kind::Currency => "currency",
            Kind::Reference(_) => "reference",
        }
    }

    /// The describe's `soapType`.
    pub(crate) fn soap_type(self) -> &'static str {
        match self {
            Kind::Id | Kind::Reference(_) => "tns:ID",
            Kind::Boolean => "xsd:boolean",
            Kind::Date => "xsd:date",
            Kind::DateTime => "xsd:dateTime",
            Kind::Int => "xsd:int",
            Kind::Currency => "xsd:double",
            _ => "xsd:string",
        }
    }

    /// Whether values are text (compared case-insensitively, matched by `LIKE`).
    pub(crate) fn is_text(self) -> bool {
        matches!(
            self,
            Kind::String
                | Kind::Email
                | Kind::Phone
                | Kind::Url
                | Kind::TextArea
                | Kind::Picklist
                | Kind::MultiPicklist
        )
    }

    pub(crate) fn is_number(self) -> bool {
        matches!(self, Kind::Int | Kind::Currency)
    }

    pub(crate) fn is_id(self) -> bool {
        matches!(self, Kind::Id | Kind::Reference(_))
    }
}

/// Who may write a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Maintained by the CRM: a write naming it is refused.
    ReadOnly,
    ReadWrite,
    /// Must hold a value after every write.
    Required,
}

/// One field of an sObject type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub(crate) name: &'static str,
    pub(crate) label: &'static str,
    pub(crate) kind: Kind,
    /// Maximum length of text values (0 for other types).
    pub(crate) length: u32,
    pub(crate) access: Access,
    pub(crate) external_id: bool,
    pub(crate) id_lookup: bool,
    pub(crate) unique: bool,
    /// A parent reference's relationship name (`Account` for `AccountId`).
    pub(crate) relationship: Option<&'static str>,
    /// The HubSpot demo property the seed takes the value from ("" when none).
    pub(crate) source: &'static str,
}

impl Field {
    pub(crate) fn is_custom(&self) -> bool {
        self.name.ends_with("__c")
    }

    pub(crate) fn writable(&self) -> bool {
        self.access != Access::ReadOnly
    }
}

const fn field(
    name: &'static str,
    label: &'static str,
    kind: Kind,
    length: u32,
    source: &'static str,
) -> Field {
    Field {
        name,
        label,
        kind,
        length,
        access: Access::ReadWrite,
        external_id: false,
        id_lookup: false,
        unique: false,
        relationship: None,
        source,
    }
}

const fn read_only(field: Field) -> Field {
    Field {
        access: Access::ReadOnly,
        ..field
    }
}

const fn required(field: Field) -> Field {
    Field {
        access: Access::Required,
        ..field
    }
}

const fn lookup(field: Field) -> Field {
    Field {
        id_lookup: true,
        ..field
    }
}

const ID: Field = lookup(read_only(field("Id", "Record ID", Kind::Id, 18, "")));
const EXTERNAL_ID: Field = Field {
    external_id: true,
    id_lookup: true,
    unique: true,
    ..field("External_Id__c", "External ID", Kind::String, 40, "")
};
const CREATED: Field = read_only(field(
    "CreatedDate",
    "Created Date",
    Kind::DateTime,
    0,
    "createdate",
));
const MODSTAMP: Field = read_only(field(
    "SystemModstamp",
    "System Modstamp",
    Kind::DateTime,
    0,
    "",
));
const IS_DELETED: Field = read_only(field("IsDeleted", "Deleted", Kind::Boolean, 0, ""));
const LIFECYCLE: Field = field(
    "Lifecycle__c",
    "Lifecycle Stage",
    Kind::Picklist,
    255,
    "lifecyclestage",
);
const DEPARTMENT: Field = field(
    "Owner_Department__c",
    "Owner Department",
    Kind::Picklist,
    255,
    "owner_department",
);
const SOURCE: Field = field(
    "Data_Source__c",
    "Data Source",
    Kind::Picklist,
    255,
    "data_source",
);
const SOURCE_AT: Field = field(
    "Data_Source_At__c",
    "Data Source At",
    Kind::DateTime,
    0,
    "data_source_at",
);
const SOURCE_BASIS: Field = field(
    "Data_Source_Basis__c",
    "Data Source Basis",
    Kind::Picklist,
    255,
    "data_source_basis",
);

/// A person's table (contacts and leads): the type's own fields, then the shared ones.
macro_rules! person_fields {
    ([$($own:expr),* $(,)?], $birthdate:expr) => {
        [
            $($own,)*
            lookup(field("Email", "Email", Kind::Email, 80, "email")),
            field("Phone", "Business Phone", Kind::Phone, 40, "phone"),
            field("MobilePhone", "Mobile Phone", Kind::Phone, 40, "mobilephone"),
            field(
                "Billing_Address__c",
                "Billing Address",
                Kind::TextArea,
                255,
                "billing_address",
            ),
            field("Billing_IBAN__c", "IBAN", Kind::String, 34, "billing_iban"),
            field(
                "Payment_Method__c",
                "Payment Method",
                Kind::MultiPicklist,
                4099,
                "payment_method",
            ),
            $birthdate,
            field("Photo_URL__c", "Photo URL", Kind::Url, 255, "photo_url"),
            field("Wish_Text__c", "Wish Text", Kind::TextArea, 32_768, "wish_text"),
            field("Title", "Title", Kind::String, 128, "jobtitle"),
            field(
                "Consent_Greetings__c",
                "Consent Greetings",
                Kind::Boolean,
                0,
                "consent_greetings",
            ),
            field(
                "Consent_Survey__c",
                "Consent Survey",
                Kind::Boolean,
                0,
                "consent_survey",
            ),
            field(
                "Consent_Marketing__c",
                "Consent Marketing",
                Kind::Boolean,
                0,
                "consent_marketing",
            ),
            SOURCE,
            field(
                "Data_Source_Detail__c",
                "Data Source Detail",
                Kind::TextArea,
                32_768,
                "data_source_detail",
            ),
            SOURCE_AT,
            SOURCE_BASIS,
            LIFECYCLE,
            DEPARTMENT,
            field(
                "Last_Activity_Date__c",
                "Last Activity Date",
                Kind::Date,
                0,
                "last_activity_date",
            ),
            field(
                "Wish_Answered_At__c",
                "Wish Answered At",
                Kind::Date,
                0,
                "wish_answered_at",
            ),
            field("Legal_Hold__c", "Legal Hold", Kind::Boolean, 0, "legal_hold"),
            field(
                "Dispute_Open__c",
                "Dispute Open",
                Kind::Boolean,
                0,
                "dispute_open",
            ),
            EXTERNAL_ID,
            CREATED,
            read_only(field(
                "LastModifiedDate",
                "Last Modified Date",
                Kind::DateTime,
                0,
                "lastmodifieddate",
            )),
            MODSTAMP,
            IS_DELETED,
        ]
    };
}

static CONTACT: [Field; 38] = person_fields!(
    [
        ID,
        field("FirstName", "First Name", Kind::String, 40, "firstname"),
        required(field("LastName", "Last Name", Kind::String, 80, "lastname")),
        field("Salutation", "Salutation", Kind::Picklist, 40, "salutation"),
        read_only(field("Name", "Full Name", Kind::String, 121, "")),
        field(
            "MailingStreet",
            "Mailing Street",
            Kind::TextArea,
            255,
            "address"
        ),
        field("MailingCity", "Mailing City", Kind::String, 40, "city"),
        field(
            "MailingPostalCode",
            "Mailing Zip/Postal Code",
            Kind::String,
            20,
            "zip"
        ),
        field(
            "MailingCountry",
            "Mailing Country",
            Kind::String,
            80,
            "country"
        ),
        Field {
            relationship: Some("Account"),
            ..field(
                "AccountId",
                "Account ID",
                Kind::Reference(SObject::Account),
                18,
                ""
            )
        },
    ],
    field("Birthdate", "Birthdate", Kind::Date, 0, "date_of_birth")
);

static LEAD: [Field; 38] = person_fields!(
    [
        ID,
        field("FirstName", "First Name", Kind::String, 40, "firstname"),
        required(field("LastName", "Last Name", Kind::String, 80, "lastname")),
        field("Salutation", "Salutation", Kind::Picklist, 40, "salutation"),
        read_only(field("Name", "Full Name", Kind::String, 121, "")),
        field("Street", "Street", Kind::TextArea, 255, "address"),
        field("City", "City", Kind::String, 40, "city"),
        field("PostalCode", "Zip/Postal Code", Kind::String, 20, "zip"),
        field("Country", "Country", Kind::String, 80, "country"),
        required(field("Company", "Company", Kind::String, 255, "company")),
    ],
    field("Birthdate__c", "Birthdate", Kind::Date, 0, "date_of_birth")
);

static ACCOUNT: [Field; 22] = [
    ID,
    required(field("Name", "Account Name", Kind::String, 255, "name")),
    field("Website", "Website", Kind::Url, 255, "domain"),
    field("Phone", "Account Phone", Kind::Phone, 40, "phone"),
    field(
        "BillingStreet",
        "Billing Street",
        Kind::TextArea,
        255,
        "address",
    ),
    field("BillingCity", "Billing City", Kind::String, 40, "city"),
    field(
        "BillingCountry",
        "Billing Country",
        Kind::String,
        80,
        "country",
    ),
    field("Industry", "Industry", Kind::Picklist, 255, "industry"),
    field(
        "Founded_Date__c",
        "Founded Date",
        Kind::Date,
        0,
        "founded_date",
    ),
    field(
        "Description",
        "Account Description",
        Kind::TextArea,
        32_000,
        "description",
    ),
    field(
        "NumberOfEmployees",
        "Employees",
        Kind::Int,
        0,
        "numberofemployees",
    ),
    field(
        "AnnualRevenue",
        "Annual Revenue",
        Kind::Currency,
        0,
        "annualrevenue",
    ),
    SOURCE,
    SOURCE_AT,
    SOURCE_BASIS,
    LIFECYCLE,
    DEPARTMENT,
    EXTERNAL_ID,
    CREATED,
    read_only(field(
        "LastModifiedDate",
        "Last Modified Date",
        Kind::DateTime,
        0,
        "hs_lastmodifieddate",
    )),
    MODSTAMP,
    IS_DELETED,
];
