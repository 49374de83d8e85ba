//! Tests of the query subset: every construct parsed and rebuilt, every refused construct
//! named, escapes, case, the round trip `parse(render(q)) == q`, hostile inputs, and the
//! governance helpers. Test code only: it must never be compiled into the proxy.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::*;

fn ok(text: &str) -> Query {
    match parse(text) {
        Ok(q) => q,
        Err(e) => panic!("`{text}` was refused: {e}"),
    }
}

fn refused(text: &str) -> SoqlError {
    match parse(text) {
        Ok(q) => panic!("`{text}` was accepted as {q:?}"),
        Err(e) => e,
    }
}

fn path(dotted: &str) -> FieldPath {
    FieldPath::from_dotted(dotted).unwrap()
}

/// Parse, render, parse again: the same typed form, and the canonical text.
fn canonical(text: &str) -> String {
    let q = ok(text);
    let rendered = q.render();
    assert_eq!(ok(&rendered), q, "round trip of `{text}` via `{rendered}`");
    rendered
}

#[test]
fn every_construct_of_the_subset_parses_and_renders_canonically() {
    let cases = [
        ("select id from contact", "SELECT id FROM contact"),
        (
            "SELECT Id, FirstName, Account.Name, Account.Owner.Email FROM Contact",
            "SELECT Id, FirstName, Account.Name, Account.Owner.Email FROM Contact",
        ),
        ("SELECT COUNT() FROM Lead", "SELECT COUNT() FROM Lead"),
        (
            "SELECT Id FROM Contact WHERE Email = 'a@b.c'",
            "SELECT Id FROM Contact WHERE Email = 'a@b.c'",
        ),
        (
            "SELECT Id FROM Contact WHERE A__c != 1 AND B <> 2 AND C < 3 AND D <= 4.5 AND E > -6 AND F >= 7",
            "SELECT Id FROM Contact WHERE A__c != 1 AND B != 2 AND C < 3 AND D <= 4.5 AND E > -6 AND F >= 7",
        ),
        (
            "SELECT Id FROM Contact WHERE Name like 'Ter\\%%'",
            "SELECT Id FROM Contact WHERE Name LIKE 'Ter\\%%'",
        ),
        (
            "SELECT Id FROM Contact WHERE Lifecycle__c in ('lead','customer') or Lifecycle__c not in ('other')",
            "SELECT Id FROM Contact WHERE Lifecycle__c IN ('lead', 'customer') OR Lifecycle__c NOT IN ('other')",
        ),
        (
            "SELECT Id FROM Contact WHERE Tags__c includes ('a;b','c') AND Tags__c excludes ('d')",
            "SELECT Id FROM Contact WHERE Tags__c INCLUDES ('a;b', 'c') AND Tags__c EXCLUDES ('d')",
        ),
        (
            "SELECT Id FROM Contact WHERE Email = null AND Phone != NULL",
            "SELECT Id FROM Contact WHERE Email = NULL AND Phone != NULL",
        ),
        (
            "SELECT Id FROM Contact WHERE not (Email = null) and ((a = 1 or b = 2))",
            "SELECT Id FROM Contact WHERE NOT (Email = NULL) AND (a = 1 OR b = 2)",
        ),
        (
            "SELECT Id FROM Contact WHERE NOT Email = 'x' AND NOT NOT b = true",
            "SELECT Id FROM Contact WHERE NOT (Email = 'x') AND NOT (NOT (b = TRUE))",
        ),
        (
            "SELECT Id FROM Contact WHERE Birthdate = 2026-12-07 AND CreatedDate > 2026-12-07T10:00:00Z AND LastModifiedDate < 2026-12-07T10:00:00.000+01:00",
            "SELECT Id FROM Contact WHERE Birthdate = 2026-12-07 AND CreatedDate > 2026-12-07T10:00:00Z AND LastModifiedDate < 2026-12-07T10:00:00.000+01:00",
        ),
        (
            "SELECT Id FROM Contact WHERE CreatedDate = today AND d < last_n_days:30 AND e > NEXT_N_FISCAL_YEARS:2 AND f = THIS_YEAR",
            "SELECT Id FROM Contact WHERE CreatedDate = TODAY AND d < LAST_N_DAYS:30 AND e > NEXT_N_FISCAL_YEARS:2 AND f = THIS_YEAR",
        ),
        (
            "SELECT Id FROM Contact WHERE b = FALSE order by LastName desc nulls last, FirstName asc, Id nulls first limit 10 offset 20",
            "SELECT Id FROM Contact WHERE b = FALSE ORDER BY LastName DESC NULLS LAST, FirstName ASC, Id NULLS FIRST LIMIT 10 OFFSET 20",
        ),
        (
            "  SELECT\n\tId\r\nFROM   Contact   LIMIT 5  ",
            "SELECT Id FROM Contact LIMIT 5",
        ),
        (
            "SELECT Id FROM Contact WHERE Account.Industry = 'Toys' ORDER BY Account.Name",
            "SELECT Id FROM Contact WHERE Account.Industry = 'Toys' ORDER BY Account.Name",
        ),
        (
            "SELECT Order.Name FROM OrderItem ORDER BY Order.Name",
            "SELECT Order.Name FROM OrderItem ORDER BY Order.Name",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(canonical(text), want, "`{text}`");
    }
}

#[test]
fn the_typed_form_holds_names_as_written_and_keywords_in_any_case() {
    let q = ok("sElEcT fIrStNaMe, account.NAME FrOm cOnTaCt wHeRe EMAIL = 'X' OrDeR bY iD");
    assert_eq!(q.from, "cOnTaCt");
    assert_eq!(q.selects(), vec![&path("fIrStNaMe"), &path("account.NAME")]);
    assert_eq!(q.filters_by(), vec![&path("EMAIL")]);
    assert_eq!(q.orders_by(), vec![&path("iD")]);
    assert!(path("account.NAME").same_as(&path("Account.Name")));
    assert!(!path("Account.Name").same_as(&path("Name")));
}

#[test]
fn strings_are_decoded_and_escaped_again() {
    let q = ok(r#"SELECT Id FROM Contact WHERE Name = 'Bob\'s \"BBQ\"\n\\ \u00e9\T'"#);
    let Some(Condition::Compare {
        value: Literal::String(s),
        ..
    }) = &q.filter
    else {
        panic!("{q:?}")
    };
    assert_eq!(s.value(), "Bob's \"BBQ\"\n\\ é\t");
    assert_eq!(
        q.render(),
        r#"SELECT Id FROM Contact WHERE Name = 'Bob\'s "BBQ"\n\\ é\t'"#
    );
    // A LIKE pattern keeps its literal wildcards apart from its wildcards.
    let like = ok(r"SELECT Id FROM Contact WHERE Name LIKE '50\%\_off%_'");
    let Some(Condition::Like { pattern, .. }) = &like.filter else {
        panic!()
    };
    assert_eq!(pattern.held(), r"50\%\_off%_");
    assert_eq!(pattern.value(), "50%_off%_");
    assert_eq!(canonical(&like.render()), like.render());
    // A value built in code is escaped whatever it holds.
    let mut q = ok("SELECT Id FROM Contact");
    q.and_condition(Condition::Compare {
        field: path("Name"),
        op: CompareOp::Eq,
        value: Literal::String(SoqlString::from_value("x' OR Name != 'y\\")),
    });
    assert_eq!(
        q.render(),
        r"SELECT Id FROM Contact WHERE Name = 'x\' OR Name != \'y\\'"
    );
    assert_eq!(ok(&q.render()), q);
}

#[test]
fn malformed_strings_and_escapes_are_refused() {
    for (text, construct) in [
        ("SELECT Id FROM Contact WHERE Name = 'abc", "syntax"),
        ("SELECT Id FROM Contact WHERE Name = 'abc\\", "syntax"),
        ("SELECT Id FROM Contact WHERE Name = 'a\\qb'", "escape"),
        ("SELECT Id FROM Contact WHERE Name = 'a\\u12'", "escape"),
        ("SELECT Id FROM Contact WHERE Name = 'a\\u0025'", "escape"),
        ("SELECT Id FROM Contact WHERE Name = 'a\\%'", "escape"),
        ("SELECT Id FROM Contact WHERE Name IN ('a\\_')", "escape"),
        (
            "SELECT Id FROM Contact WHERE Name = 'a\0b'",
            "NUL character",
        ),
        (
            "SELECT Id FROM Contact WHERE Name = 'a\\u0000b'",
            "NUL character",
        ),
        ("SELECT Id FROM Contact WHERE Name = \"abc\"", "syntax"),
    ] {
        assert_eq!(refused(text).construct, construct, "`{text}`");
    }
}

#[test]
fn every_refused_construct_is_named_with_its_position() {
    let cases = [
        (
            "SELECT Id, (SELECT Id FROM Contacts) FROM Account",
            "child relationship subquery",
            12,
        ),
        (
            "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)",
            "semi-join subquery",
            37,
        ),
        (
            "SELECT Id FROM Account WHERE (SELECT Id FROM Contact) = 1",
            "subquery",
            31,
        ),
        (
            "SELECT Industry FROM Account GROUP BY Industry",
            "GROUP BY",
            30,
        ),
        (
            "SELECT Id FROM Account WHERE Name = 'x' HAVING Id = 1",
            "HAVING",
            41,
        ),
        ("SELECT COUNT(Id) FROM Account", "aggregate function", 8),
        (
            "SELECT MAX(NumberOfEmployees) FROM Account",
            "aggregate function",
            8,
        ),
        ("SELECT COUNT(), Id FROM Account", "COUNT() with fields", 8),
        (
            "SELECT TYPEOF What WHEN Account THEN Name END FROM Event",
            "TYPEOF",
            8,
        ),
        ("SELECT FIELDS(ALL) FROM Account LIMIT 200", "FIELDS()", 8),
        ("SELECT Id FROM Account WITH SECURITY_ENFORCED", "WITH", 24),
        ("SELECT Id FROM Account USING SCOPE mine", "USING SCOPE", 24),
        (
            "SELECT Id FROM Account FOR VIEW",
            "FOR VIEW/REFERENCE/UPDATE",
            24,
        ),
        (
            "SELECT Id FROM Account LIMIT 1 FOR UPDATE",
            "FOR VIEW/REFERENCE/UPDATE",
            32,
        ),
        (
            "SELECT Id FROM Account UPDATE TRACKING",
            "UPDATE TRACKING/VIEWSTAT",
            24,
        ),
        ("SELECT Id FROM Account ALL ROWS", "ALL ROWS", 24),
        ("SELECT toLabel(Industry) FROM Account", "toLabel()", 8),
        ("SELECT FORMAT(AnnualRevenue) FROM Account", "FORMAT()", 8),
        (
            "SELECT convertCurrency(AnnualRevenue) FROM Account",
            "convertCurrency()",
            8,
        ),
        (
            "SELECT Id FROM Account WHERE DISTANCE(Loc__c, GEOLOCATION(1,2), 'km') < 20",
            "DISTANCE/GEOLOCATION",
            30,
        ),
        (
            "SELECT Id FROM Account WHERE CALENDAR_YEAR(CreatedDate) = 2026",
            "date function",
            30,
        ),
        ("SELECT Id FROM Account WHERE Foo(Name) = 1", "function", 30),
        (
            "SELECT Id FROM Account WHERE Name = :name",
            "bind variable",
            37,
        ),
        (
            "SELECT Id FROM Account WHERE Name IN :names",
            "bind variable",
            38,
        ),
        ("SELECT Id FROM Account LIMIT :n", "bind variable", 30),
        ("SELECT Id FROM Account a", "alias", 24),
        ("SELECT Id x FROM Account", "alias", 11),
        (
            "SELECT Id FROM Account, Contact",
            "several objects in FROM",
            23,
        ),
        ("SELECT Who.Name FROM Task", "polymorphic relationship", 8),
        (
            "SELECT Id FROM Task WHERE What.Name = 'x'",
            "polymorphic relationship",
            27,
        ),
        ("SELECT Contact.Email FROM Contact", "object-name prefix", 8),
        ("SELECT Id FROM Account -- all of them", "comment", 24),
        ("SELECT Id FROM Account /* all */", "comment", 24),
        ("SELECT Id FROM Account // all", "comment", 24),
        (
            "SELECT Id FROM Account LIMIT 1 garbage",
            "trailing text",
            32,
        ),
        ("SELECT Id FROM Account LIMIT 1;", "syntax", 31),
        ("SELECT Id FROM Account\0", "NUL character", 23),
        ("SELECT A.B.C.D.E.F.G FROM Contact", "relationship depth", 8),
        ("SELECT Id FROM Contact.Account", "relationship in FROM", 23),
    ];
    let mut wrong = Vec::new();
    for (text, construct, position) in cases {
        let e = refused(text);
        if (e.construct, e.position) != (construct, position) {
            wrong.push(format!("`{text}`: {e:?}"));
        }
        assert!(!e.message.is_empty() && !e.message.ends_with('.'), "{e}");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn malformed_queries_are_refused_as_syntax() {
    for text in [
        "",
        "SELECT",
        "SELECT FROM Contact",
        "SELECT Id FROM",
        "SELECT Id, FROM Contact",
        "SELECT Id FROM Contact WHERE",
        "SELECT Id FROM Contact WHERE Name",
        "SELECT Id FROM Contact WHERE Name =",
        "SELECT Id FROM Contact WHERE Name = 'a' AND b = 1 OR c = 2",
        "SELECT Id FROM Contact WHERE (Name = 'a'",
        "SELECT Id FROM Contact WHERE Name = 'a')",
        "SELECT Id FROM Contact WHERE Name IN ()",
        "SELECT Id FROM Contact WHERE Name IN ('a',)",
        "SELECT Id FROM Contact WHERE Name NOT LIKE 'a'",
        "SELECT Id FROM Contact WHERE Name LIKE 1",
        "SELECT Id FROM Contact WHERE Tags__c INCLUDES (1)",
        "SELECT Id FROM Contact WHERE Name = Email",
        "SELECT Id FROM Contact WHERE Name < NULL",
        "SELECT Id FROM Contact WHERE d = LAST_N_DAYS",
        "SELECT Id FROM Contact WHERE d = LAST_N_DAYS:-1",
        "SELECT Id FROM Contact WHERE d = TODAY:1",
        "SELECT Id FROM Contact WHERE d = 2026-13-01",
        "SELECT Id FROM Contact WHERE d = 2026-12-07T25:00:00Z",
        "SELECT Id FROM Contact WHERE d = 2026-12-07T10:00:00",
        "SELECT Id FROM Contact WHERE n = 1e5",
        "SELECT Id FROM Contact WHERE n = 1.",
        "SELECT Id FROM Contact ORDER BY",
        "SELECT Id FROM Contact ORDER BY Name NULLS",
        "SELECT Id FROM Contact LIMIT -1",
        "SELECT Id FROM Contact LIMIT 1.5",
        "SELECT Id FROM Contact LIMIT 99999999999999999999999",
        "SELECT Id FROM Contact OFFSET 1 LIMIT 1",
        "SELECT Id FROM Contact ORDER BY Name WHERE a = 1",
        "SELECT Id FROM Contact WHERE Select = 1",
        "SELECT Id FROM Contact WHERE Name = 'a' AND",
        "SELECT Id FROM Contact WHERE Name = 'é'é",
        "SELECT Ïd FROM Contact",
        "SELECT _Id FROM Contact",
    ] {
        let e = refused(text);
        assert!(
            matches!(e.construct, "syntax" | "trailing text"),
            "`{text}`: {e:?}"
        );
        assert!(
            e.position >= 1 && e.position <= text.chars().count() + 1,
            "`{text}`: {e:?}"
        );
    }
}
