//! Seed data of the demo CRM — Santa Claus's company — as readable tables, and
//! the code that turns each row into a record with property history.
//!
//! Everything here is invented: names come from Christmas stories or are made
//! up, e-mail domains end in `.example`, phone numbers lie in Ofcom's drama
//! ranges (+44 20 7946 0xxx, +44 7700 900xxx) or NANP's 555-01xx, and IBANs use
//! the fictional bank codes `NPOL` / `1224 1224` (only the wish text of 1040
//! quotes the well-known documentation IBAN `DE89 3704 0044 0532 0130 00`).
//! Nothing depends on the clock or on randomness: timestamps are derived from
//! the dates in the tables and the record id.
//!
//! Invented people of a fairy-tale company: it must never hold real personal data.

use std::collections::BTreeMap;

use super::dates;
use super::model::{Record, Version};

/// One contact row. Empty strings mean "no value"; phone numbers, photo URLs,
/// billing addresses, timestamps and history are derived (see `contact_record`).
#[derive(Clone, Copy)]
struct Contact {
    id: u32,
    sal: &'static str,
    first: &'static str,
    last: &'static str,
    email: &'static str,
    /// An earlier e-mail address, so `propertiesWithHistory=email` shows a change.
    prev_email: &'static str,
    street: &'static str,
    zip: &'static str,
    city: &'static str,
    country: &'static str,
    /// Billing address when it differs from the delivery address.
    billing: &'static str,
    iban: &'static str,
    pay: &'static str,
    born: &'static str,
    photo: bool,
    wish: &'static str,
    company: &'static str,
    job: &'static str,
    greet: bool,
    survey: bool,
    mkt: bool,
    source: &'static str,
    detail: &'static str,
    stage: &'static str,
    dept: &'static str,
    /// Day the record was created (`createdate`).
    created: &'static str,
    /// `last_activity_date`; `lastmodifieddate` is derived from it.
    active: &'static str,
    /// Day the record was archived, or "".
    archived: &'static str,
    /// Associated company, or 0.
    company_id: u32,
    /// Day the wish was answered (`wish_answered_at`), or "".
    answered: &'static str,
    /// Under legal hold (`legal_hold`).
    hold: bool,
}

const BLANK: Contact = Contact {
    id: 0,
    sal: "",
    first: "",
    last: "",
    email: "",
    prev_email: "",
    street: "",
    zip: "",
    city: "",
    country: "",
    billing: "",
    iban: "",
    pay: "",
    born: "",
    photo: false,
    wish: "",
    company: "",
    job: "",
    greet: false,
    survey: false,
    mkt: false,
    source: "",
    detail: "",
    stage: "",
    dept: "",
    created: "",
    active: "",
    archived: "",
    company_id: 0,
    answered: "",
    hold: false,
};

const T: bool = true;
const F: bool = false;

/// 1001–1030: existing customers with delivery address, billing data, birthday
/// and photo. 1001 is the showcase with every property filled; 1002 declined
/// greetings. Last activity before 2023-11 (retention candidates): 1005, 1015,
/// 1026, 1029.
#[rustfmt::skip]
const CUSTOMERS: &[Contact] = &[
    Contact { id: 1001, sal: "Mr", first: "Ebenezer", last: "Scrooge",
        email: "ebenezer.scrooge@scrooge-marley.example", prev_email: "e.scrooge@counting-house.example",
        street: "3 Cornhill", zip: "EC3V 3ND", city: "London", country: "United Kingdom",
        billing: "Scrooge & Marley, 3 Cornhill, EC3V 3ND London, United Kingdom",
        iban: "GB08 NPOL 2412 2400 0010 01", pay: "sepa_direct_debit", born: "1953-12-19", photo: T,
        wish: "A prize turkey for the Cratchit family and a warm scarf for Bob, delivered anonymously.",
        company: "Scrooge & Marley", job: "Senior Partner",
        greet: T, survey: T, mkt: F, source: "order", detail: "Order NP-2019-00042, wooden toys for the Cratchit children",
        stage: "customer", dept: "field_sales", created: "2019-02-11", active: "2026-11-20", company_id: 2001, ..BLANK },
    Contact { id: 1002, sal: "Ms", first: "Clara", last: "Stahlbaum",
        email: "clara.stahlbaum@lebkuchenpost.example",
        street: "Lebkuchengasse 12", zip: "90403", city: "Nürnberg", country: "Germany",
        iban: "DE93 1224 1224 0000 0010 02", pay: "invoice", born: "1990-12-24", photo: T,
        wish: "Ein neuer Nussknacker für die Vitrine, am liebsten ein Husar in Rot.",
        greet: F, survey: T, mkt: T, source: "order", detail: "Order NP-2020-01187",
        stage: "customer", dept: "sales", created: "2020-11-30", active: "2026-10-02", ..BLANK },
    Contact { id: 1003, sal: "Mr", first: "Bob", last: "Cratchit",
        email: "bob.cratchit@camden-mail.example", prev_email: "bob.cratchit@scrooge-marley.example",
        street: "14 Bayham Street", zip: "NW1 0EY", city: "London", country: "United Kingdom",
        iban: "GB51 NPOL 2412 2400 0010 03", pay: "invoice", born: "1962-03-08", photo: T,
        wish: "A goose big enough for the whole family this year.",
        greet: T, survey: F, mkt: F, source: "order", detail: "Order NP-2019-00977",
        stage: "customer", dept: "sales", created: "2019-12-20", active: "2025-12-18", ..BLANK },
    Contact { id: 1004, sal: "Ms", first: "Belle", last: "Fairweather",
        email: "belle.fairweather@bathpost.example",
        street: "7 Laurel Crescent", zip: "BA1 2LR", city: "Bath", country: "United Kingdom",
        iban: "GB24 NPOL 2412 2400 0010 04", pay: "credit_card", born: "1966-07-30", photo: T,
        greet: T, survey: T, mkt: T, source: "trade_fair", detail: "North Pole Toy Fair 2019, Rovaniemi",
        stage: "customer", dept: "field_sales", created: "2019-11-16", active: "2026-06-11", ..BLANK },
    Contact { id: 1005, sal: "Mr", first: "Fritz", last: "Stahlbaum",
        email: "fritz.stahlbaum@lebkuchenpost.example",
        street: "Lebkuchengasse 12", zip: "90403", city: "Nürnberg", country: "Germany",
        iban: "DE12 1224 1224 0000 0010 05", pay: "sepa_direct_debit", born: "1987-05-02", photo: T,
        company: "Stahlbaum Nussknacker-Manufaktur", job: "Woodcarver",
        greet: F, survey: F, mkt: F, source: "order", detail: "Order NP-2020-01188",
        stage: "customer", dept: "sales", created: "2020-11-30", active: "2020-12-20", company_id: 2009, ..BLANK },
    Contact { id: 1006, sal: "Ms", first: "Gerda", last: "Andersen",
        email: "gerda.andersen@snepost.example",
        street: "Rosenvænget 5", zip: "2100", city: "København", country: "Denmark",
        iban: "DK46 2412 0000 0010 06", pay: "sepa_direct_debit", born: "1994-01-17", photo: T,
        wish: "Ice skates, and a warm scarf for Kai.",
        greet: T, survey: F, mkt: T, source: "order", detail: "Order NP-2021-00012",
        stage: "customer", dept: "sales", created: "2021-01-05", active: "2026-09-14", ..BLANK },
    Contact { id: 1007, sal: "Mr", first: "Kai", last: "Sørensen",
        email: "kai.soerensen@snepost.example",
        street: "Snedronningens Allé 9", zip: "5000", city: "Odense", country: "Denmark",
        iban: "DK19 2412 0000 0010 07", pay: "sepa_direct_debit", born: "1993-11-02", photo: T,
        greet: F, survey: T, mkt: F, source: "order", detail: "Order NP-2021-00013",
        stage: "customer", dept: "field_sales", created: "2021-01-05", active: "2025-03-28", ..BLANK },
    Contact { id: 1008, sal: "Frau", first: "Liesel", last: "Pfefferkuchen",
        email: "liesel.pfefferkuchen@printenpost.example",
        street: "Printenstraße 3", zip: "52062", city: "Aachen", country: "Germany",
        iban: "DE28 1224 1224 0000 0010 08", pay: "invoice", born: "1958-09-09", photo: T,
        greet: T, survey: T, mkt: F, source: "trade_fair", detail: "Aachen Christmas Market 2020, North Pole stand",
        stage: "customer", dept: "field_sales", created: "2020-12-05", active: "2026-11-03", ..BLANK },
    Contact { id: 1009, sal: "Herr", first: "Gustav", last: "Tannenbaum",
        email: "gustav.tannenbaum@schwarzwaldpost.example",
        street: "Schwarzwaldweg 21", zip: "79098", city: "Freiburg im Breisgau", country: "Germany",
        iban: "DE98 1224 1224 0000 0010 09", pay: "sepa_direct_debit", born: "1949-10-14", photo: T,
        greet: T, survey: F, mkt: F, source: "order", detail: "Order NP-2019-00311",
        stage: "customer", dept: "sales", created: "2019-06-21", active: "2024-12-09", ..BLANK },
    Contact { id: 1010, sal: "Ms", first: "Holly", last: "Berry",
        email: "holly.berry@yorkmail.example",
        street: "22 Ivy Lane", zip: "YO1 7HH", city: "York", country: "United Kingdom",
        iban: "GB56 NPOL 2412 2400 0010 10", pay: "credit_card", born: "1985-12-01", photo: T,
        greet: F, survey: F, mkt: T, source: "order", detail: "Order NP-2022-02210",
        stage: "customer", dept: "sales", created: "2022-11-26", active: "2026-08-19", ..BLANK },
    Contact { id: 1011, sal: "Mr", first: "Noel", last: "Winterbottom",
        email: "noel.winterbottom@millmail.example", prev_email: "noel.w@old-mill-mail.example",
        street: "5 Frost Street", zip: "M4 5JD", city: "Manchester", country: "United Kingdom",
        iban: "GB29 NPOL 2412 2400 0010 11", pay: "sepa_direct_debit", born: "1978-12-25", photo: T,
        greet: T, survey: T, mkt: T, source: "order", detail: "Order NP-2019-00620",
        stage: "customer", dept: "field_sales", created: "2019-10-01", active: "2026-11-12", ..BLANK },
    Contact { id: 1012, sal: "Ms", first: "Ivy", last: "Evergreen",
        email: "ivy.evergreen@thistlemail.example",
        street: "18 Holly Close", zip: "EH1 2NG", city: "Edinburgh", country: "United Kingdom",
        iban: "GB02 NPOL 2412 2400 0010 12", pay: "credit_card", born: "1999-02-14", photo: T,
        greet: F, survey: T, mkt: T, source: "order", detail: "Order NP-2023-03051",
        stage: "customer", dept: "sales", created: "2023-12-02", active: "2026-01-20", ..BLANK },
    Contact { id: 1013, sal: "Herr", first: "Nikolaus", last: "Schneemann",
        email: "nikolaus.schneemann@isarpost.example",
        street: "Eisbachweg 6", zip: "80538", city: "München", country: "Germany",
        iban: "DE87 1224 1224 0000 0010 13", pay: "sepa_direct_debit", born: "1971-12-06", photo: T,
        greet: T, survey: F, mkt: T, source: "trade_fair", detail: "North Pole Toy Fair 2021, Rovaniemi",
        stage: "customer", dept: "field_sales", created: "2021-11-20", active: "2026-10-28", ..BLANK },
    Contact { id: 1014, sal: "Frau", first: "Christel", last: "Engel",
        email: "christel.engel@dompost.example",
        street: "Domplatz 4a", zip: "50667", city: "Köln", country: "Germany",
        iban: "DE60 1224 1224 0000 0010 14", pay: "invoice", born: "1968-04-18", photo: T,
        wish: "Neue Strohsterne für den Baum, die alten sind schon ganz zerzaust.",
        greet: T, survey: T, mkt: F, source: "order", detail: "Order NP-2020-00204",
        stage: "customer", dept: "customer_service", created: "2020-03-03", active: "2026-02-26", ..BLANK },
    Contact { id: 1015, sal: "Mr", first: "Jack", last: "Frost",
        email: "jack.frost@granitemail.example",
        street: "9 Granite Row", zip: "AB10 1XG", city: "Aberdeen", country: "United Kingdom",
        iban: "GB18 NPOL 2412 2400 0010 15", pay: "sepa_direct_debit", born: "1981-01-31", photo: T,
        greet: F, survey: F, mkt: F, source: "order", detail: "Order NP-2019-00018",
        stage: "customer", dept: "sales", created: "2019-01-12", active: "2021-01-08", ..BLANK },
    Contact { id: 1016, sal: "Ms", first: "Carol", last: "Singer",
        email: "carol.singer@harbourmail.example",
        street: "31 Choir Street", zip: "BS1 5TR", city: "Bristol", country: "United Kingdom",
        iban: "GB88 NPOL 2412 2400 0010 16", pay: "credit_card", born: "1990-06-21", photo: T,
        greet: T, survey: F, mkt: F, source: "order", detail: "Order NP-2021-01904",
        stage: "customer", dept: "sales", created: "2021-12-10", active: "2026-07-07", ..BLANK },
    Contact { id: 1017, sal: "Herr", first: "Rupert", last: "Knecht",
        email: "rupert.knecht@elbpost.example",
        street: "Rutenweg 17", zip: "20095", city: "Hamburg", country: "Germany",
        iban: "DE76 1224 1224 0000 0010 17", pay: "invoice", born: "1955-12-05", photo: T,
        greet: T, survey: T, mkt: T, source: "trade_fair", detail: "Hamburg Winter Fair 2022, North Pole stand",
        stage: "customer", dept: "field_sales", created: "2022-11-18", active: "2026-11-18", ..BLANK },
    Contact { id: 1018, sal: "Frau", first: "Lotte", last: "Marzipan",
        email: "lotte.marzipan@travepost.example",
        street: "Marzipangang 2", zip: "23552", city: "Lübeck", country: "Germany",
        iban: "DE49 1224 1224 0000 0010 18", pay: "sepa_direct_debit", born: "1983-08-08", photo: T,
        greet: F, survey: T, mkt: F, source: "order", detail: "Order NP-2020-01342",
        stage: "customer", dept: "sales", created: "2020-12-11", active: "2025-11-30", ..BLANK },
    Contact { id: 1019, sal: "Mr", first: "Fred", last: "Merriweather",
        email: "fred.merriweather@thamesmail.example",
        street: "40 Dingley Dell Road", zip: "SE1 9GF", city: "London", country: "United Kingdom",
        iban: "GB07 NPOL 2412 2400 0010 19", pay: "sepa_direct_debit", born: "1974-05-17", photo: T,
        wish: "Another invitation to Uncle Ebenezer's Christmas dinner, please!",
        greet: T, survey: F, mkt: T, source: "order", detail: "Order NP-2019-01001",
        stage: "customer", dept: "field_sales", created: "2019-12-24", active: "2026-11-01", ..BLANK },
    Contact { id: 1020, sal: "Ms", first: "Aurora", last: "Nordlund",
        email: "aurora.nordlund@revontuli.example",
        street: "Revontulentie 8", zip: "96100", city: "Rovaniemi", country: "Finland",
        iban: "FI33 2412 2400 0010 20", pay: "sepa_direct_debit", born: "1991-03-21", photo: T,
        greet: T, survey: T, mkt: T, source: "order", detail: "Order NP-2022-00150",
        stage: "customer", dept: "sales", created: "2022-01-15", active: "2026-09-30", ..BLANK },
    Contact { id: 1021, sal: "Mr", first: "Eino", last: "Lumikki",
        email: "eino.lumikki@lumipost.example",
        street: "Lumitie 3 B 12", zip: "00100", city: "Helsinki", country: "Finland",
        iban: "FI06 2412 2400 0010 21", pay: "sepa_direct_debit", born: "1969-02-02", photo: T,
        greet: F, survey: F, mkt: T, source: "order", detail: "Order NP-2021-00388",
        stage: "customer", dept: "sales", created: "2021-02-20", active: "2026-03-14", ..BLANK },
    Contact { id: 1022, sal: "Mme", first: "Noëlle", last: "Sapin",
        email: "noelle.sapin@marche-noel.example",
        street: "12 rue du Marché de Noël", zip: "67000", city: "Strasbourg", country: "France",
        iban: "FR64 2412 2412 2400 0001 0220 097", pay: "credit_card", born: "1987-12-25", photo: T,
        wish: "Des santons de Provence pour ma crèche.",
        greet: T, survey: T, mkt: F, source: "trade_fair", detail: "Strasbourg Christmas Market 2022, North Pole stand",
        stage: "customer", dept: "field_sales", created: "2022-12-03", active: "2026-05-22", ..BLANK },
    Contact { id: 1023, sal: "Mr", first: "Timothy", last: "Cratchit",
        email: "tiny.tim@camden-mail.example",
        street: "16 Pratt Street", zip: "NW1 0AB", city: "London", country: "United Kingdom",
        iban: "GB93 NPOL 2412 2400 0010 23", pay: "invoice", born: "2001-10-12", photo: T,
        wish: "A new football and tickets to the Boxing Day match. God bless us, every one!",
        greet: T, survey: F, mkt: F, source: "order", detail: "Order NP-2024-04420",
        stage: "customer", dept: "customer_service", created: "2024-12-15", active: "2026-11-22", ..BLANK },
    Contact { id: 1024, sal: "Sr.", first: "Gaspar", last: "Reyes",
        email: "gaspar.reyes@tresreyes.example",
        street: "Calle de los Reyes Magos 6", zip: "28013", city: "Madrid", country: "Spain",
        iban: "ES73 2412 2412 2400 0000 1024", pay: "sepa_direct_debit", born: "1960-01-06", photo: T,
        greet: F, survey: T, mkt: T, source: "order", detail: "Order NP-2023-00007",
        stage: "customer", dept: "sales", created: "2023-01-02", active: "2026-01-06", ..BLANK },
    Contact { id: 1025, sal: "Frau", first: "Hanne", last: "Kerzenschein",
        email: "hanne.kerzenschein@donaupost.example",
        street: "Kerzengasse 8/3", zip: "1010", city: "Wien", country: "Austria",
        iban: "AT02 2412 2000 0000 1025", pay: "invoice", born: "1979-11-11", photo: T,
        greet: T, survey: T, mkt: F, source: "order", detail: "Order NP-2019-00500",
        stage: "customer", dept: "accounting", created: "2019-09-09", active: "2025-09-15", ..BLANK },
    Contact { id: 1026, sal: "Herr", first: "Max", last: "Zimtstern",
        email: "max.zimtstern@salzachpost.example",
        street: "Sternengasse 2", zip: "5020", city: "Salzburg", country: "Austria",
        iban: "AT72 2412 2000 0000 1026", pay: "sepa_direct_debit", born: "1952-07-07", photo: T,
        greet: F, survey: F, mkt: F, source: "trade_fair", detail: "Salzburg Christmas Market 2019, North Pole stand",
        stage: "customer", dept: "sales", created: "2019-12-01", active: "2019-12-23", ..BLANK },
    Contact { id: 1027, sal: "Ms", first: "Anouk", last: "Pepernoot",
        email: "anouk.pepernoot@grachtpost.example",
        street: "Pepernotenstraat 5", zip: "1012 AB", city: "Amsterdam", country: "Netherlands",
        iban: "NL17 NPOL 0000 0010 27", pay: "sepa_direct_debit", born: "1996-12-05", photo: T,
        greet: T, survey: F, mkt: T, source: "order", detail: "Order NP-2023-02890",
        stage: "customer", dept: "field_sales", created: "2023-11-28", active: "2026-10-15", ..BLANK },
    Contact { id: 1028, sal: "Herr", first: "Urs", last: "Schlittler",
        email: "urs.schlittler@limmatpost.example",
        street: "Schlittenweg 11", zip: "8001", city: "Zürich", country: "Switzerland",
        iban: "CH65 2412 2000 0000 0102 8", pay: "invoice", born: "1964-02-29", photo: T,
        greet: T, survey: T, mkt: F, source: "order", detail: "Order NP-2020-00096",
        stage: "customer", dept: "field_sales", created: "2020-02-14", active: "2026-02-20", ..BLANK },
    Contact { id: 1029, sal: "Ms", first: "Martha", last: "Cratchit",
        email: "martha.cratchit@croydonmail.example",
        street: "3 Milliner's Court", zip: "CR0 1NX", city: "Croydon", country: "United Kingdom",
        iban: "GB28 NPOL 2412 2400 0010 29", pay: "credit_card", born: "1998-04-04", photo: T,
        greet: F, survey: T, mkt: F, source: "order", detail: "Order NP-2021-02011",
        stage: "customer", dept: "sales", created: "2021-12-18", active: "2022-06-14", ..BLANK },
    Contact { id: 1030, sal: "Mr", first: "Ralph", last: "Parker",
        email: "ralph.parker@liffeymail.example",
        street: "7 Lamplighter Lane", zip: "D08 X2Y3", city: "Dublin", country: "Ireland",
        iban: "IE71 NPOL 2412 2400 0010 30", pay: "sepa_direct_debit", born: "1980-12-23", photo: T,
        greet: T, survey: F, mkt: F, source: "trade_fair", detail: "Dublin Christmas Fair 2023, North Pole stand",
        stage: "customer", dept: "sales", created: "2023-12-09", active: "2026-04-01", ..BLANK },
];

/// 1031–1055: prospects, mostly from the wish-list web form. Wish texts with
/// special-category or identifier data: 1031 (health, de), 1033 (religion, de),
/// 1035 (trade union, en), 1037 (sexual orientation, en), 1038 (ethnic origin,
/// en), 1039 (political opinion, de), 1040 (IBAN), 1041 (card number, de),
/// 1042 (health, en). Purchased-list leads 1053–1054 have no wish text.
#[rustfmt::skip]
const PROSPECTS: &[Contact] = &[
    Contact { id: 1031, sal: "Frau", first: "Greta", last: "Schneeflocke", email: "greta.schneeflocke@winterpost.example",
        wish: "Lieber Weihnachtsmann, seit meiner Diabetes-Diagnose darf ich kaum noch Süßes essen. Ich wünsche mir zuckerfreie Lebkuchen und ein Kochbuch für Diabetiker.",
        greet: F, survey: F, mkt: T, source: "wish_list_form", detail: "wishlist.northpole.example, season 2025",
        stage: "lead", dept: "marketing", created: "2025-11-02", active: "2025-12-03", ..BLANK },
    Contact { id: 1032, sal: "Mr", first: "Oliver", last: "Hollybush", email: "oliver.hollybush@mailbox.example",
        wish: "A wooden train set with a little red caboose for my nephew.",
        greet: F, survey: F, mkt: F, source: "wish_list_form", detail: "wishlist.northpole.example, season 2024",
        stage: "lead", dept: "marketing", created: "2024-11-20", active: "2024-12-01", ..BLANK },
    Contact { id: 1033, sal: "Frau", first: "Maria", last: "Krippner", email: "maria.krippner@sternpost.example",
        wish: "Als gläubige Katholikin gehe ich jeden Sonntag zur Messe. Ich wünsche mir einen neuen Rosenkranz aus Olivenholz.",
        greet: F, survey: F, mkt: T, source: "wish_list_form", detail: "wishlist.northpole.example, season 2025",
        stage: "lead", dept: "marketing", created: "2025-11-15", active: "2025-11-15", ..BLANK },
    Contact { id: 1034, sal: "Mr", first: "Sam", last: "Tinsel", email: "sam.tinsel@mailbox.example",
        wish: "A telescope so I can watch for the sleigh on Christmas Eve.",
        greet: T, survey: F, mkt: T, source: "wish_list_form", detail: "wishlist.northpole.example, season 2023",
        stage: "lead", dept: "marketing", created: "2023-12-01", active: "2025-12-10", answered: "2025-12-20", ..BLANK },
    Contact { id: 1035, sal: "Mr", first: "Thomas", last: "Holloway", email: "thomas.holloway@workshopmail.example",
        wish: "As shop steward of the Toymakers' Union (member since 2009) I'd love a history of the labour movement for our union library.",
        greet: F, survey: F, mkt: F, source: "wish_list_form", detail: "wishlist.northpole.example, season 2024",
        stage: "lead", dept: "marketing", created: "2024-12-05", active: "2024-12-05", ..BLANK },
    Contact { id: 1036, sal: "Frau", first: "Pia", last: "Kerzenlicht", email: "pia.kerzenlicht@winterpost.example",
        wish: "Ein Puzzle mit 1000 Teilen vom Nordpol, bitte!",
        greet: F, survey: T, mkt: T, source: "wish_list_form", detail: "wishlist.northpole.example, season 2022",
        stage: "subscriber", dept: "marketing", created: "2022-11-28", active: "2026-11-15", answered: "2026-10-01", ..BLANK },
    Contact { id: 1037, sal: "Mx", first: "Robin", last: "Redbreast", email: "robin.redbreast@mailbox.example",
        wish: "My husband and I are celebrating our first Christmas as a married gay couple. Two matching ugly sweaters, please!",
        greet: F, survey: F, mkt: T, source: "wish_list_form", detail: "wishlist.northpole.example, season 2025",
        stage: "lead", dept: "marketing", created: "2025-12-01", active: "2026-01-05", ..BLANK },
    Contact { id: 1038, sal: "Ms", first: "Elle", last: "Niillas", email: "elle.niillas@tundramail.example",
        city: "Inari", country: "Finland",
        wish: "I'm Sámi and my grandmother still herds reindeer near Inari. A book on Sámi history in North Sámi would make her so happy.",
        greet: F, survey: F, mkt: F, source: "wish_list_form", detail: "wishlist.northpole.example, season 2024",
        stage: "lead", dept: "marketing", created: "2024-12-12", active: "2024-12-12", ..BLANK },
    Contact { id: 1039, sal: "Herr", first: "Jonas", last: "Grünewald", email: "jonas.gruenewald@sternpost.example",
        wish: "Als Mitglied der Grünen engagiere ich mich im Ortsverband. Ich wünsche mir ein Lastenrad für unsere Wahlkampfstände.",
        greet: F, survey: F, mkt: F, source: "wish_list_form", detail: "wishlist.northpole.example, season 2025",
        stage: "lead", dept: "marketing", created: "2025-11-21", active: "2025-11-21", ..BLANK },
    Contact { id: 1040, sal: "Mr", first: "Leo", last: "Pinecone", email: "leo.pinecone@mailbox.example",
        wish: "For the big dollhouse please just debit my account DE89 3704 0044 0532 0130 00. Thanks, Santa!",
        greet: F, survey: F, mkt: T, source: "wish_list_form", detail: "wishlist.northpole.example, season 2025",
        stage: "lead", dept: "marketing", created: "2025-12-08", active: "2025-12-09", ..BLANK },
    Contact { id: 1041, sal: "Frau", first: "Paula", last: "Plätzchen", email: "paula.plaetzchen@winterpost.example",
        wish: "Bitte die Express-Rentierlieferung auf meine Karte 4111 1111 1111 1111, gültig bis 12/28, buchen.",
        greet: F, survey: F, mkt: F, source: "wish_list_form", detail: "wishlist.northpole.example, season 2025",
        stage: "lead", dept: "marketing", created: "2025-12-14", active: "2025-12-14", ..BLANK },
    Contact { id: 1042, sal: "Ms", first: "Hazel", last: "Wreath", email: "hazel.wreath@mailbox.example",
        wish: "Since my knee surgery I can't go sledging, and my depression always gets worse in winter. A light therapy lamp would help me a lot.",
        greet: F, survey: F, mkt: T, source: "wish_list_form", detail: "wishlist.northpole.example, season 2024",
        stage: "lead", dept: "marketing", created: "2024-11-30", active: "2025-01-10", ..BLANK },
    Contact { id: 1043, sal: "Mr", first: "Felix", last: "Snowdon", email: "felix.snowdon@mailbox.example",
        wish: "A red bicycle with a bell for my daughter Lotte.",
        greet: F, survey: F, mkt: F, source: "wish_list_form", detail: "wishlist.northpole.example, season 2023",
        stage: "lead", dept: "marketing", created: "2023-12-03", active: "2023-12-03", hold: T, ..BLANK },
    Contact { id: 1044, sal: "Frau", first: "Ida", last: "Walnuss", email: "ida.walnuss@lebkuchenpost.example",
        street: "Burgstraße 9", zip: "90403", city: "Nürnberg", country: "Germany", born: "1975-06-30",
        wish: "Eine Schneekugel mit dem Nürnberger Christkindlesmarkt darin.",
        greet: T, survey: F, mkt: T, source: "wish_list_form", detail: "wishlist.northpole.example, season 2024",
        stage: "lead", dept: "marketing", created: "2024-11-25", active: "2026-11-10", ..BLANK },
    Contact { id: 1045, sal: "Ms", first: "Poppy", last: "Goodwill", email: "poppy.goodwill@mailbox.example",
        city: "Leeds", country: "United Kingdom",
        wish: "Board games for our family game night, something all ages can play.",
        greet: F, survey: T, mkt: F, source: "trade_fair", detail: "North Pole Toy Fair 2024, Rovaniemi",
        stage: "lead", dept: "sales", created: "2024-10-05", active: "2025-10-05", ..BLANK },
    Contact { id: 1046, sal: "Herr", first: "Anton", last: "Rauhreif", email: "anton.rauhreif@winterpost.example",
        wish: "Warme Wollsocken und ein gutes Buch für lange Winterabende.",
        greet: F, survey: F, mkt: T, source: "wish_list_form", detail: "wishlist.northpole.example, season 2022",
        stage: "lead", dept: "marketing", created: "2022-12-10", active: "2022-12-10", ..BLANK },
    Contact { id: 1047, sal: "Ms", first: "Daisy", last: "Gingersnap", email: "daisy.gingersnap@mailbox.example",
        wish: "Art supplies: watercolours and a big sketchbook.",
        greet: F, survey: F, mkt: T, source: "wish_list_form", detail: "wishlist.northpole.example, season 2023",
        stage: "subscriber", dept: "marketing", created: "2023-11-30", active: "2026-06-01", answered: "2026-06-15", ..BLANK },
    Contact { id: 1048, sal: "Mr", first: "Arthur", last: "Yule", email: "arthur.yule@mailbox.example",
        wish: "A kite for spring, because winter is long enough.",
        greet: F, survey: F, mkt: F, source: "wish_list_form", detail: "wishlist.northpole.example, season 2020",
        stage: "lead", dept: "marketing", created: "2020-11-01", active: "2020-11-01", ..BLANK },
    Contact { id: 1049, sal: "Frau", first: "Emma", last: "Sternschnuppe", email: "emma.sternschnuppe@sternpost.example",
        born: "1988-08-12", photo: T,
        wish: "Ein Fernglas für die Vogelbeobachtung im Winter.",
        greet: T, survey: F, mkt: T, source: "wish_list_form", detail: "wishlist.northpole.example, season 2025",
        stage: "lead", dept: "marketing", created: "2025-11-11", active: "2026-11-20", answered: "2026-11-25", ..BLANK },
    Contact { id: 1050, sal: "Ms", first: "Ruby", last: "Candlewick", email: "ruby.candlewick@mailbox.example",
        wish: "A cosy blanket and hot chocolate for our street's carol singers.",
        greet: F, survey: F, mkt: F, source: "wish_list_form", detail: "wishlist.northpole.example, season 2024",
        stage: "lead", dept: "marketing", created: "2024-12-18", active: "2025-02-02", ..BLANK },
    Contact { id: 1051, sal: "Mr", first: "Finn", last: "Firwood", email: "finn.firwood@mailbox.example",
        wish: "Just keep me posted about the new toy catalogue!",
        greet: F, survey: F, mkt: T, source: "wish_list_form", detail: "Newsletter sign-up on wishlist.northpole.example",
        stage: "subscriber", dept: "marketing", created: "2023-10-10", active: "2026-10-10", ..BLANK },
    Contact { id: 1052, sal: "Ms", first: "Stella", last: "Starling", email: "stella.starling@mailbox.example",
        wish: "A music box that plays Jingle Bells.",
        greet: F, survey: F, mkt: T, source: "wish_list_form", detail: "Newsletter sign-up on wishlist.northpole.example",
        stage: "subscriber", dept: "marketing", created: "2024-09-01", active: "2026-09-01", ..BLANK },
    Contact { id: 1053, sal: "Herr", first: "Lukas", last: "Winterfeld", email: "lukas.winterfeld@listmail.example",
        greet: F, survey: F, mkt: F, source: "purchased_list", detail: "Purchased list: Yuletide Leads Ltd, March 2021",
        stage: "lead", dept: "marketing", created: "2021-03-15", active: "2021-03-15", ..BLANK },
    Contact { id: 1054, sal: "Ms", first: "Megan", last: "Holloway", email: "megan.holloway@listmail.example",
        greet: F, survey: F, mkt: F, source: "purchased_list", detail: "Purchased list: Yuletide Leads Ltd, March 2021",
        stage: "lead", dept: "marketing", created: "2021-03-15", active: "2021-04-02", ..BLANK },
    Contact { id: 1055, sal: "Mr", first: "Casper", last: "Glimmer", email: "casper.glimmer@balticmail.example",
        city: "Tallinn", country: "Estonia",
        wish: "A demo of the self-steering sledge at the next fair.",
        greet: F, survey: F, mkt: T, source: "trade_fair", detail: "North Pole Toy Fair 2025, Rovaniemi",
        stage: "lead", dept: "sales", created: "2025-10-08", active: "2026-11-05", ..BLANK },
];

/// 1056–1068: contacts at business partners (`lifecyclestage` other), each
/// associated to its company. 1061's last activity is older than three years.
#[rustfmt::skip]
const PARTNERS: &[Contact] = &[
    Contact { id: 1056, sal: "Ms", first: "Tilda", last: "Sprocket", email: "tilda@tinsel-sprocket.example",
        city: "Rovaniemi", country: "Finland", company: "Tinsel & Sprocket Elves' Workshop", job: "Workshop Director",
        greet: T, survey: F, mkt: F, source: "partner_referral", detail: "Referred by the North Pole Guild of Toymakers",
        stage: "other", dept: "management", created: "2019-03-01", active: "2026-11-18", company_id: 2002, ..BLANK },
    Contact { id: 1057, sal: "Mr", first: "Pip", last: "Jingleton", email: "pip.jingleton@jinglebell-works.example",
        city: "Tromsø", country: "Norway", company: "Jingle Bell Elf Works", job: "Head of Quality",
        greet: T, survey: T, mkt: F, source: "trade_fair", detail: "North Pole Toy Fair 2019, Rovaniemi",
        stage: "other", dept: "sales", created: "2019-11-15", active: "2026-10-30", company_id: 2003, ..BLANK },
    Contact { id: 1058, sal: "Ms", first: "Sigrid", last: "Renlund", email: "sigrid.renlund@rudolphs-feed.example",
        prev_email: "sigrid@renlund-feed.example",
        city: "Kiruna", country: "Sweden", company: "Rudolph's Finest Reindeer Feed", job: "Sales Manager",
        greet: T, survey: F, mkt: F, source: "partner_referral", detail: "Referred by Lichen & Moss Fodder Co.",
        stage: "other", dept: "management", created: "2019-05-20", active: "2026-09-12", company_id: 2004, ..BLANK },
    Contact { id: 1059, sal: "Mr", first: "Nils", last: "Lavvu", email: "nils.lavvu@lichen-moss.example",
        city: "Inari", country: "Finland", company: "Lichen & Moss Fodder Co.", job: "Procurement Lead",
        greet: F, survey: F, mkt: F, source: "trade_fair", detail: "Arctic Farming Fair 2020, Oulu",
        stage: "other", dept: "sales", created: "2020-09-09", active: "2026-08-08", company_id: 2005, ..BLANK },
    Contact { id: 1060, sal: "Herr", first: "Jens", last: "Fracht", email: "jens.fracht@polar-express-logistics.example",
        prev_email: "jens.fracht@nordpol-spedition.example",
        city: "Hamburg", country: "Germany", company: "Polar Express Logistics", job: "Key Account Manager",
        greet: T, survey: T, mkt: T, source: "partner_referral", detail: "Referred by Sleighway Freight & Chimney Delivery",
        stage: "other", dept: "management", created: "2019-08-01", active: "2026-11-25", company_id: 2006, ..BLANK },
    Contact { id: 1061, sal: "Ms", first: "Femke", last: "van Slee", email: "femke.vanslee@sleighway.example",
        city: "Rotterdam", country: "Netherlands", company: "Sleighway Freight & Chimney Delivery", job: "Operations Director",
        greet: T, survey: F, mkt: F, source: "trade_fair", detail: "North Pole Toy Fair 2020, Rovaniemi",
        stage: "other", dept: "management", created: "2020-01-20", active: "2021-02-02", company_id: 2007, ..BLANK },
    Contact { id: 1062, sal: "Mr", first: "Frederick", last: "Fezziwig", email: "fezziwig@fezziwig-toys.example",
        city: "London", country: "United Kingdom", company: "Fezziwig's Toy Emporium", job: "Owner",
        greet: T, survey: T, mkt: F, source: "partner_referral", detail: "Referred by Ebenezer Scrooge",
        stage: "other", dept: "sales", created: "2019-01-07", active: "2026-11-12", company_id: 2008, ..BLANK },
    Contact { id: 1063, sal: "Herr", first: "Christian", last: "Drosselmeyer", email: "c.drosselmeyer@drosselmeyer.example",
        city: "Nürnberg", country: "Germany", company: "Drosselmeyer Uhren & Spielwaren", job: "Geschäftsführer",
        greet: T, survey: F, mkt: T, source: "partner_referral", detail: "Referred by Stahlbaum Nussknacker-Manufaktur",
        stage: "other", dept: "sales", created: "2020-10-10", active: "2026-11-02", company_id: 2010, ..BLANK },
    Contact { id: 1064, sal: "Ms", first: "Doris", last: "Walker", email: "doris.walker@kringle-co.example",
        city: "New York", country: "United States", company: "Kringle & Co. Department Store", job: "Head of Special Events",
        greet: T, survey: T, mkt: F, source: "trade_fair", detail: "Holiday Retail Expo 2021, New York",
        stage: "other", dept: "sales", created: "2021-06-01", active: "2026-11-26", company_id: 2011, ..BLANK },
    Contact { id: 1065, sal: "Mr", first: "George", last: "Bailey", email: "george.bailey@bedfordfalls-toys.example",
        city: "Bedford Falls", country: "United States", company: "Bedford Falls Toy & Hobby", job: "Owner",
        greet: T, survey: F, mkt: F, source: "partner_referral", detail: "Referred by Kringle & Co. Department Store",
        stage: "other", dept: "sales", created: "2021-12-24", active: "2026-10-01", company_id: 2012, ..BLANK },
    Contact { id: 1066, sal: "Frau", first: "Henrike", last: "Kugel", email: "henrike.kugel@frosty-glassworks.example",
        city: "Lauscha", country: "Germany", company: "Frosty Snow-Globe Glassworks", job: "Master Glassblower",
        greet: F, survey: F, mkt: F, source: "trade_fair", detail: "Christmas Decoration Fair 2022, Frankfurt",
        stage: "other", dept: "management", created: "2022-02-02", active: "2026-07-15", company_id: 2013, ..BLANK },
    Contact { id: 1067, sal: "Ms", first: "Ginny", last: "Snap", email: "ginny.snap@gingerbread-lane.example",
        city: "York", country: "United Kingdom", company: "Gingerbread Lane Bakery Supplies", job: "Purchasing Manager",
        greet: T, survey: T, mkt: T, source: "partner_referral", detail: "Referred by Fezziwig's Toy Emporium",
        stage: "other", dept: "management", created: "2022-08-08", active: "2026-11-19", company_id: 2014, ..BLANK },
    Contact { id: 1068, sal: "Herr", first: "Ole", last: "Schleife", email: "ole.schleife@nordlicht-papier.example",
        city: "Bielefeld", country: "Germany", company: "Nordlicht Geschenkpapier GmbH", job: "Vertriebsleiter",
        greet: T, survey: F, mkt: F, source: "trade_fair", detail: "Paperworld 2023, North Pole buyers' day",
        stage: "other", dept: "sales", created: "2023-03-03", active: "2026-11-08", company_id: 2015, ..BLANK },
];

/// 1069–1070: archived contacts, returned only with `archived=true`.
#[rustfmt::skip]
const ARCHIVED: &[Contact] = &[
    Contact { id: 1069, sal: "Mr", first: "Jacob", last: "Marley", email: "jacob.marley@scrooge-marley.example",
        street: "1 Chain Lane", zip: "EC3V 9AA", city: "London", country: "United Kingdom",
        iban: "GB15 NPOL 2412 2400 0010 69", pay: "invoice", born: "1950-12-24",
        company: "Scrooge & Marley", job: "Partner",
        greet: F, survey: F, mkt: F, source: "order", detail: "Order NP-2019-00001",
        stage: "customer", dept: "accounting", created: "2019-01-02", active: "2019-12-24", archived: "2020-01-15", ..BLANK },
    Contact { id: 1070, sal: "Mr", first: "Henry", last: "Potter", email: "henry.potter@bedfordfalls-bank.example",
        wish: "A controlling interest in every toy shop in town.",
        greet: F, survey: F, mkt: F, source: "wish_list_form", detail: "wishlist.northpole.example, season 2022",
        stage: "lead", dept: "marketing", created: "2022-12-01", active: "2022-12-01", archived: "2024-03-01", ..BLANK },
];

/// One company row; `prev_name` / `prev_employees` give the history a change.
#[derive(Clone, Copy)]
struct Company {
    id: u32,
    name: &'static str,
    prev_name: &'static str,
    domain: &'static str,
    industry: &'static str,
    street: &'static str,
    city: &'static str,
    country: &'static str,
    founded: &'static str,
    description: &'static str,
    employees: &'static str,
    prev_employees: &'static str,
    revenue: &'static str,
    stage: &'static str,
    dept: &'static str,
    source: &'static str,
    created: &'static str,
    modified: &'static str,
}

/// 2001–2015: customers (2001, 2008, 2010, 2011, 2012) and partners — elves'
/// workshops, reindeer feed suppliers, logistics partners and suppliers.
#[rustfmt::skip]
const COMPANIES: &[Company] = &[
    Company { id: 2001, name: "Scrooge & Marley Counting House", prev_name: "", domain: "scrooge-marley.example",
        industry: "FINANCIAL_SERVICES", street: "3 Cornhill", city: "London", country: "United Kingdom", founded: "1843-12-19",
        description: "Counting house on Cornhill; since its founder's change of heart a generous sponsor of Christmas dinners.",
        employees: "12", prev_employees: "2", revenue: "2500000", stage: "customer", dept: "field_sales", source: "order",
        created: "2019-02-11", modified: "2026-11-20" },
    Company { id: 2002, name: "Tinsel & Sprocket Elves' Workshop", prev_name: "", domain: "tinsel-sprocket.example",
        industry: "CONSUMER_GOODS", street: "Pajakatu 1", city: "Rovaniemi", country: "Finland", founded: "1822-12-24",
        description: "Elves' workshop building wooden toys and rocking horses for Santa's sleigh.",
        employees: "240", prev_employees: "180", revenue: "18000000", stage: "other", dept: "management", source: "partner_referral",
        created: "2019-03-01", modified: "2026-11-18" },
    Company { id: 2003, name: "Jingle Bell Elf Works", prev_name: "", domain: "jinglebell-works.example",
        industry: "MUSICAL_INSTRUMENTS", street: "Bjelleveien 4", city: "Tromsø", country: "Norway", founded: "1901-12-01",
        description: "Elves' workshop making sleigh bells, music boxes and jingle bells.",
        employees: "85", prev_employees: "", revenue: "6200000", stage: "other", dept: "sales", source: "trade_fair",
        created: "2019-11-15", modified: "2026-10-30" },
    Company { id: 2004, name: "Rudolph's Finest Reindeer Feed", prev_name: "", domain: "rudolphs-feed.example",
        industry: "FARMING", street: "Renvägen 12", city: "Kiruna", country: "Sweden", founded: "1939-12-24",
        description: "Reindeer feed with lichen, carrots and a pinch of magic for long-haul flights.",
        employees: "40", prev_employees: "", revenue: "3100000", stage: "other", dept: "management", source: "partner_referral",
        created: "2019-05-20", modified: "2026-09-12" },
    Company { id: 2005, name: "Lichen & Moss Fodder Co.", prev_name: "", domain: "lichen-moss.example",
        industry: "FARMING", street: "Jäkälätie 7", city: "Inari", country: "Finland", founded: "1968-03-15",
        description: "Sustainably harvested Arctic lichen for reindeer herds.",
        employees: "18", prev_employees: "11", revenue: "900000", stage: "other", dept: "sales", source: "trade_fair",
        created: "2020-09-09", modified: "2026-08-08" },
    Company { id: 2006, name: "Polar Express Logistics", prev_name: "Nordpol Spedition GmbH", domain: "polar-express-logistics.example",
        industry: "LOGISTICS_AND_SUPPLY_CHAIN", street: "Schneekai 40", city: "Hamburg", country: "Germany", founded: "1985-11-01",
        description: "Logistics partner for parcels that do not fit down a chimney.",
        employees: "520", prev_employees: "310", revenue: "74000000", stage: "other", dept: "management", source: "partner_referral",
        created: "2019-08-01", modified: "2026-11-25" },
    Company { id: 2007, name: "Sleighway Freight & Chimney Delivery", prev_name: "", domain: "sleighway.example",
        industry: "LOGISTICS_AND_SUPPLY_CHAIN", street: "Sleekade 3", city: "Rotterdam", country: "Netherlands", founded: "1997-12-12",
        description: "Last-mile delivery, chimney access and roof landing pads.",
        employees: "130", prev_employees: "", revenue: "15500000", stage: "other", dept: "management", source: "trade_fair",
        created: "2020-01-20", modified: "2021-02-05" },
    Company { id: 2008, name: "Fezziwig's Toy Emporium", prev_name: "", domain: "fezziwig-toys.example",
        industry: "RETAIL", street: "12 Ballroom Yard", city: "London", country: "United Kingdom", founded: "1801-12-24",
        description: "Toy shop famous for its Christmas Eve ball; resells Santa's wooden toys.",
        employees: "25", prev_employees: "", revenue: "2100000", stage: "customer", dept: "sales", source: "order",
        created: "2019-01-07", modified: "2026-11-12" },
    Company { id: 2009, name: "Stahlbaum Nussknacker-Manufaktur", prev_name: "", domain: "stahlbaum-nussknacker.example",
        industry: "CONSUMER_GOODS", street: "Holzschnitzerweg 3", city: "Nürnberg", country: "Germany", founded: "1816-12-24",
        description: "Family manufacture of hand-carved nutcrackers, supplier to Santa's workshop.",
        employees: "32", prev_employees: "28", revenue: "2800000", stage: "other", dept: "management", source: "partner_referral",
        created: "2020-11-30", modified: "2026-10-02" },
    Company { id: 2010, name: "Drosselmeyer Uhren & Spielwaren", prev_name: "", domain: "drosselmeyer.example",
        industry: "RETAIL", street: "Uhrmachergasse 8", city: "Nürnberg", country: "Germany", founded: "1892-12-18",
        description: "Clock and toy shop stocking Santa's mechanical toys.",
        employees: "9", prev_employees: "", revenue: "750000", stage: "customer", dept: "field_sales", source: "order",
        created: "2020-10-10", modified: "2026-11-02" },
    Company { id: 2011, name: "Kringle & Co. Department Store", prev_name: "", domain: "kringle-co.example",
        industry: "RETAIL", street: "34th Street 1", city: "New York", country: "United States", founded: "1947-05-02",
        description: "Department store with the best-known Santa grotto on 34th Street.",
        employees: "1800", prev_employees: "1650", revenue: "410000000", stage: "customer", dept: "sales", source: "trade_fair",
        created: "2021-06-01", modified: "2026-11-26" },
    Company { id: 2012, name: "Bedford Falls Toy & Hobby", prev_name: "Bailey Brothers Toys", domain: "bedfordfalls-toys.example",
        industry: "RETAIL", street: "320 Sycamore Street", city: "Bedford Falls", country: "United States", founded: "1946-12-20",
        description: "Small-town toy and hobby shop; every time a bell rings it sells a sleigh bell.",
        employees: "7", prev_employees: "4", revenue: "480000", stage: "customer", dept: "sales", source: "partner_referral",
        created: "2021-12-24", modified: "2026-10-01" },
    Company { id: 2013, name: "Frosty Snow-Globe Glassworks", prev_name: "", domain: "frosty-glassworks.example",
        industry: "GLASS_CERAMICS_CONCRETE", street: "Glasbläserweg 5", city: "Lauscha", country: "Germany", founded: "1847-10-01",
        description: "Mouth-blown glass baubles and snow globes.",
        employees: "46", prev_employees: "", revenue: "3900000", stage: "other", dept: "management", source: "trade_fair",
        created: "2022-02-02", modified: "2026-07-15" },
    Company { id: 2014, name: "Gingerbread Lane Bakery Supplies", prev_name: "", domain: "gingerbread-lane.example",
        industry: "FOOD_PRODUCTION", street: "2 Gingerbread Lane", city: "York", country: "United Kingdom", founded: "1931-11-30",
        description: "Gingerbread, cookies and milk for Christmas Eve, stocked along the whole route.",
        employees: "64", prev_employees: "", revenue: "5400000", stage: "other", dept: "management", source: "partner_referral",
        created: "2022-08-08", modified: "2026-11-19" },
    Company { id: 2015, name: "Nordlicht Geschenkpapier GmbH", prev_name: "", domain: "nordlicht-papier.example",
        industry: "PACKAGING_AND_CONTAINERS", street: "Papiermühlenweg 21", city: "Bielefeld", country: "Germany", founded: "1952-09-01",
        description: "Recycled wrapping paper, ribbons and gift tags.",
        employees: "110", prev_employees: "", revenue: "9800000", stage: "other", dept: "sales", source: "trade_fair",
        created: "2023-03-03", modified: "2026-11-08" },
];

/// All seeded contacts in id order: customers, prospects, partners, archived.
pub(super) fn contacts() -> Vec<Record> {
    CUSTOMERS
        .iter()
        .chain(PROSPECTS)
        .chain(PARTNERS)
        .chain(ARCHIVED)
        .map(contact_record)
        .collect()
}

/// All seeded companies in id order, each associated to the contacts that name it.
pub(super) fn companies() -> Vec<Record> {
    COMPANIES.iter().map(company_record).collect()
}

/// The contacts associated to a company, derived from the contact rows.
pub(super) fn company_contact_ids(company_id: &str) -> Vec<String> {
    CUSTOMERS
        .iter()
        .chain(PROSPECTS)
        .chain(PARTNERS)
        .chain(ARCHIVED)
        .filter(|row| row.company_id != 0 && row.company_id.to_string() == company_id)
        .map(|row| row.id.to_string())
        .collect()
}

/// HubSpot user ids standing for a person of each department, so history
/// entries made in the CRM UI say who changed a value.
fn department_user(dept: &str) -> u32 {
    match dept {
        "sales" => 20_101,
        "field_sales" => 20_102,
        "marketing" => 20_103,
        "customer_service" => 20_104,
        "accounting" => 20_105,
        _ => 20_106,
    }
}

/// The HubSpot `sourceType` of values that arrived through a data source.
fn origin_source_type(data_source: &str) -> &'static str {
    match data_source {
        "wish_list_form" => "FORM",
        "purchased_list" => "IMPORT",
        _ => "CRM_UI",
    }
}

/// How a record reached its current lifecycle stage, oldest first; the id
/// varies the path so some records have one version and others two or three.
fn stage_path(stage: &str, id: u32) -> &'static [&'static str] {
    match stage {
        "customer" if id.is_multiple_of(3) => &["subscriber", "lead", "customer"],
        "customer" => &["lead", "customer"],
        "lead" if id.is_multiple_of(2) => &["subscriber", "lead"],
        "lead" => &["lead"],
        "subscriber" => &["subscriber"],
        "other" => &["other"],
        _ => &[],
    }
}

/// A deterministic time of day (08:00–16:59 UTC) for a seed date.
fn stamp_millis(day: &str, id: u32, salt: u32) -> i64 {
    const MINUTE: i64 = 60_000;
    let days = dates::parse_day(day).unwrap_or(0);
    let minutes = 8 * 60 + i64::from((id * 37 + salt * 173) % 540);
    let seconds = i64::from((id * 13 + salt * 7) % 60);
    let millis = i64::from((id * 7 + salt * 131) % 1000);
    days * 86_400_000 + minutes * MINUTE + seconds * 1000 + millis
}

/// Timestamps of one record, from which every history entry is placed.
struct Clock {
    created: i64,
    updated: i64,
    /// The origin of values entered when the record was created.
    origin: &'static str,
    user: u32,
}

impl Clock {
    fn new(
        id: u32,
        created_day: &str,
        updated_day: &str,
        origin: &'static str,
        dept: &str,
    ) -> Self {
        let created = stamp_millis(created_day, id, 0);
        // A record touched on its creation day still changed after it was created.
        let updated = stamp_millis(updated_day, id, 1).max(created + 3_600_000);
        Clock {
            created,
            updated,
            origin,
            user: department_user(dept),
        }
    }

    /// The point `k/n` of the way from creation to the last update.
    fn at(&self, k: i64, n: i64) -> String {
        dates::format_millis(self.created + (self.updated - self.created) * k / n.max(1))
    }

    /// A value entered at creation through the record's data source.
    fn original(&self, value: &str) -> Version {
        let source_type = self.origin;
        Version {
            value: value.to_string(),
            timestamp: self.at(0, 1),
            source_type,
            updated_by_user_id: (source_type == "CRM_UI").then_some(self.user),
        }
    }

    /// A value a user changed in the CRM at point `k/n`.
    fn edited(&self, value: &str, k: i64, n: i64) -> Version {
        Version {
            value: value.to_string(),
            timestamp: self.at(k, n),
            source_type: "CRM_UI",
            updated_by_user_id: Some(self.user),
        }
    }

    /// A value HubSpot computes itself (ids, creation and modification dates).
    fn calculated(&self, value: &str, at_update: bool) -> Version {
        Version {
            value: value.to_string(),
            timestamp: if at_update {
                self.at(1, 1)
            } else {
                self.at(0, 1)
            },
            source_type: "CALCULATED",
            updated_by_user_id: None,
        }
    }

    /// Versions, newest first, of a value that went through `path` (oldest first).
    fn path(&self, path: &[&str]) -> Vec<Version> {
        let steps = i64::try_from(path.len()).unwrap_or(1);
        let mut versions: Vec<Version> = path
            .iter()
            .zip(0_i64..)
            .map(|(value, k)| {
                if k == 0 {
                    self.original(value)
                } else {
                    self.edited(value, k, steps)
                }
            })
            .collect();
        versions.reverse();
        versions
    }
}

/// Collects properties with their history; empty values are left unset.
struct Builder {
    properties: BTreeMap<String, String>,
    history: BTreeMap<String, Vec<Version>>,
}

impl Builder {
    fn new() -> Self {
        Builder {
            properties: BTreeMap::new(),
            history: BTreeMap::new(),
        }
    }

    /// Sets `name` with its versions (newest first); the newest must be `value`.
    fn set(&mut self, name: &'static str, value: &str, versions: Vec<Version>) {
        if value.is_empty() {
            return;
        }
        self.properties.insert(name.to_string(), value.to_string());
        self.history.insert(name.to_string(), versions);
    }

    fn original(&mut self, clock: &Clock, name: &'static str, value: &str) {
        self.set(name, value, vec![clock.original(value)]);
    }

    /// A value that replaced `previous` halfway through the record's life.
    fn changed(&mut self, clock: &Clock, name: &'static str, value: &str, previous: &str) {
        let versions = if previous.is_empty() {
            vec![clock.original(value)]
        } else {
            vec![clock.edited(value, 1, 2), clock.original(previous)]
        };
        self.set(name, value, versions);
    }

    fn stage(&mut self, clock: &Clock, stage: &str, path: &[&str]) {
        let versions = if path.last() == Some(&stage) {
            clock.path(path)
        } else {
            vec![clock.original(stage)]
        };
        self.set("lifecyclestage", stage, versions);
    }

    fn calculated(&mut self, clock: &Clock, name: &'static str, value: &str, at_update: bool) {
        self.set(name, value, vec![clock.calculated(value, at_update)]);
    }
}

/// Fictional phone numbers: NANP 555-01xx in the US, Ofcom's drama range elsewhere.
fn landline(country: &str, number: u32) -> String {
    if country == "United States" {
        format!("+1 212 555 01{:02}", number % 100)
    } else {
        format!("+44 20 7946 0{:03}", number % 1000)
    }
}

fn mobile(country: &str, number: u32) -> String {
    if country == "United States" {
        format!("+1 646 555 01{:02}", number % 100)
    } else {
        format!("+44 7700 900{:03}", number % 1000)
    }
}

fn flag(value: bool) -> &'static str {
    if value {
        "true"
    } else {
        "false"
    }
}

fn contact_record(row: &Contact) -> Record {
    let id = row.id.to_string();
    // Modified a few days after the last activity, so old activity means an old record.
    let updated_day = dates::parse_day(row.active)
        .map(|day| dates::format_day(day + i64::from(row.id % 4)))
        .unwrap_or_default();
    let clock = Clock::new(
        row.id,
        row.created,
        &updated_day,
        origin_source_type(row.source),
        row.dept,
    );
    let has_phone = matches!(row.stage, "customer" | "other") || row.source == "trade_fair";
    let has_mobile = matches!(row.stage, "customer" | "other");
    let billing = match (row.iban.is_empty(), row.billing.is_empty()) {
        (true, _) => String::new(),
        (false, false) => row.billing.to_string(),
        (false, true) => format!("{}, {} {}, {}", row.street, row.zip, row.city, row.country),
    };
    let created_at = dates::format_millis(clock.created);
    let updated_at = dates::format_millis(clock.updated);

    let mut b = Builder::new();
    b.original(&clock, "salutation", row.sal);
    b.original(&clock, "firstname", row.first);
    b.original(&clock, "lastname", row.last);
    b.changed(&clock, "email", row.email, row.prev_email);
    if has_phone {
        b.original(&clock, "phone", &landline(row.country, row.id));
    }
    if has_mobile {
        b.original(&clock, "mobilephone", &mobile(row.country, row.id));
    }
    b.original(&clock, "address", row.street);
    b.original(&clock, "zip", row.zip);
    b.original(&clock, "city", row.city);
    b.original(&clock, "country", row.country);
    b.original(&clock, "billing_address", &billing);
    b.original(&clock, "billing_iban", row.iban);
    b.original(&clock, "payment_method", row.pay);
    b.original(&clock, "date_of_birth", row.born);
    if row.photo {
        let url = format!("https://crm.northpole.example/photos/{id}.jpg");
        b.original(&clock, "photo_url", &url);
    }
    b.original(&clock, "wish_text", row.wish);
    b.original(&clock, "company", row.company);
    b.original(&clock, "jobtitle", row.job);
    b.original(&clock, "consent_greetings", flag(row.greet));
    b.original(&clock, "consent_survey", flag(row.survey));
    // Some contacts opted in to marketing later, a few opted out: the consent
    // history is what a consent audit would look at.
    let previous_marketing = match (row.mkt, row.id % 5) {
        (true, 1 | 3) => flag(false),
        (false, 0) => flag(true),
        _ => "",
    };
    b.changed(
        &clock,
        "consent_marketing",
        flag(row.mkt),
        previous_marketing,
    );
    b.original(&clock, "data_source", row.source);
    b.original(&clock, "data_source_detail", row.detail);
    b.stage(&clock, row.stage, stage_path(row.stage, row.id));
    b.original(&clock, "owner_department", row.dept);
    b.calculated(&clock, "last_activity_date", row.active, true);
    b.original(&clock, "wish_answered_at", row.answered);
    if row.hold {
        b.original(&clock, "legal_hold", "true");
    }
    b.calculated(&clock, "hs_object_id", &id, false);
    b.calculated(&clock, "createdate", &created_at, false);
    b.calculated(&clock, "lastmodifieddate", &updated_at, true);

    let archived_at = (!row.archived.is_empty())
        .then(|| dates::format_millis(stamp_millis(row.archived, row.id, 2)));
    let associations = if row.company_id == 0 {
        Vec::new()
    } else {
        vec![row.company_id.to_string()]
    };
    Record {
        id,
        properties: b.properties,
        history: b.history,
        created_at,
        updated_at,
        archived_at,
        associations,
    }
}

fn company_record(row: &Company) -> Record {
    let id = row.id.to_string();
    let clock = Clock::new(
        row.id,
        row.created,
        row.modified,
        origin_source_type(row.source),
        row.dept,
    );
    let created_at = dates::format_millis(clock.created);
    let updated_at = dates::format_millis(clock.updated);
    let phone_number = row.id - 2000
        + if row.country == "United States" {
            50
        } else {
            500
        };

    let mut b = Builder::new();
    b.changed(&clock, "name", row.name, row.prev_name);
    b.original(&clock, "domain", row.domain);
    b.original(&clock, "industry", row.industry);
    b.original(&clock, "phone", &landline(row.country, phone_number));
    b.original(&clock, "address", row.street);
    b.original(&clock, "city", row.city);
    b.original(&clock, "country", row.country);
    b.original(&clock, "founded_date", row.founded);
    b.original(&clock, "description", row.description);
    b.changed(
        &clock,
        "numberofemployees",
        row.employees,
        row.prev_employees,
    );
    b.original(&clock, "annualrevenue", row.revenue);
    let path: &[&str] = if row.stage == "customer" {
        &["lead", "customer"]
    } else {
        &["other"]
    };
    b.stage(&clock, row.stage, path);
    b.original(&clock, "owner_department", row.dept);
    b.original(&clock, "data_source", row.source);
    b.calculated(&clock, "hs_object_id", &id, false);
    b.calculated(&clock, "createdate", &created_at, false);
    b.calculated(&clock, "hs_lastmodifieddate", &updated_at, true);

    let associations = company_contact_ids(&id);
    Record {
        id,
        properties: b.properties,
        history: b.history,
        created_at,
        updated_at,
        archived_at: None,
        associations,
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::super::model::CONTACT_PROPERTIES;
    use super::*;

    #[test]
    fn ids_are_contiguous_and_categorised() {
        let contacts = contacts();
        let ids: Vec<u32> = contacts.iter().map(|r| r.id.parse().unwrap()).collect();
        assert_eq!(ids, (1001..=1070).collect::<Vec<_>>());
        let companies = companies();
        let ids: Vec<u32> = companies.iter().map(|r| r.id.parse().unwrap()).collect();
        assert_eq!(ids, (2001..=2015).collect::<Vec<_>>());
        for record in &contacts {
            let id: u32 = record.id.parse().unwrap();
            let stage = record.properties["lifecyclestage"].as_str();
            match id {
                1001..=1030 => assert_eq!(stage, "customer", "{id}"),
                1031..=1055 => assert!(matches!(stage, "lead" | "subscriber"), "{id}"),
                1056..=1068 => assert_eq!(stage, "other", "{id}"),
                _ => assert!(record.is_archived(), "{id}"),
            }
            assert_eq!(record.is_archived(), id >= 1069, "{id}");
        }
    }

    #[test]
    fn showcase_customer_has_every_property() {
        let contacts = contacts();
        let scrooge = &contacts[0];
        for name in CONTACT_PROPERTIES {
            assert!(scrooge.properties.contains_key(*name), "1001 lacks {name}");
        }
        assert_eq!(scrooge.properties["consent_greetings"], "true");
        assert_eq!(scrooge.properties["consent_survey"], "true");
        assert_eq!(scrooge.properties["consent_marketing"], "false");
        assert_eq!(scrooge.associations, vec!["2001".to_string()]);
        assert_eq!(contacts[1].properties["consent_greetings"], "false");
    }

    #[test]
    fn values_have_the_documented_shapes() {
        let contacts = contacts();
        for record in contacts.iter().chain(companies().iter()) {
            let p = &record.properties;
            assert_eq!(p["hs_object_id"], record.id);
            assert_eq!(p["createdate"], record.created_at);
            assert!(record.created_at < record.updated_at, "{}", record.id);
            assert!(record.created_at.as_str() >= "2019-01-01");
            assert!(record.updated_at.as_str() < "2026-11-29", "{}", record.id);
            if let Some(archived_at) = &record.archived_at {
                assert!(archived_at > &record.updated_at, "{}", record.id);
            }
            for key in ["date_of_birth", "last_activity_date", "founded_date"] {
                if let Some(day) = p.get(key) {
                    assert!(dates::parse_day(day).is_some() && day.len() == 10, "{key}");
                }
            }
            if let Some(email) = p.get("email") {
                assert!(email.ends_with(".example"), "{email}");
            }
            if let Some(last) = p.get("last_activity_date") {
                assert!(last.as_str() >= &record.created_at[..10], "{}", record.id);
                assert!(last.as_str() <= &record.updated_at[..10], "{}", record.id);
            }
            // The newest version of every property is its current value.
            for (name, value) in p {
                let versions = &record.history[name];
                assert!((1..=3).contains(&versions.len()), "{name}");
                assert_eq!(&versions[0].value, value, "{} {name}", record.id);
                assert!(versions.windows(2).all(|w| w[0].timestamp > w[1].timestamp));
            }
        }
        let with_old_activity = contacts
            .iter()
            .filter(|r| r.properties["last_activity_date"].as_str() < "2023-11-29")
            .count();
        assert!(with_old_activity >= 5);
        let sources: Vec<&str> = contacts
            .iter()
            .map(|r| r.properties["data_source"].as_str())
            .collect();
        for source in [
            "wish_list_form",
            "order",
            "trade_fair",
            "partner_referral",
            "purchased_list",
        ] {
            assert!(sources.contains(&source), "{source}");
        }
    }

    #[test]
    fn companies_know_their_contacts() {
        let companies = companies();
        assert_eq!(companies[0].associations, vec!["1001".to_string()]);
        assert!(companies.iter().skip(1).all(|c| !c.associations.is_empty()));
    }
}
