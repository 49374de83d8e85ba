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

/// The start of a query, for a failure's message (some are 100,000 characters long).
fn head(text: &str) -> String {
    text.chars().take(200).collect()
}

fn ok(text: &str) -> Query {
    match parse(text) {
        Ok(q) => q,
        Err(e) => panic!("`{}` was refused: {e}", head(text)),
    }
}

fn refused(text: &str) -> SoqlError {
    match parse(text) {
        Ok(_) => panic!("`{}` was accepted", head(text)),
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
            "SELECT Id FROM Contact WHERE Tags__c INCLUDES ('a\\%')",
            "escape",
        ),
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

// ---- hostile inputs -----------------------------------------------------------------

#[test]
fn hostile_nesting_lists_and_lengths_answer_an_error_and_never_panic() {
    let deep = |n: usize| {
        format!(
            "SELECT Id FROM Contact WHERE {}a = 1{}",
            "(".repeat(n),
            ")".repeat(n)
        )
    };
    ok(&deep(MAX_DEPTH));
    assert_eq!(refused(&deep(MAX_DEPTH + 1)).construct, "nesting depth");
    assert_eq!(refused(&deep(40_000)).construct, "nesting depth");
    let nots = |n: usize| format!("SELECT Id FROM Contact WHERE {}a = 1", "NOT ".repeat(n));
    ok(&nots(MAX_DEPTH));
    assert_eq!(refused(&nots(MAX_DEPTH + 1)).construct, "nesting depth");
    assert_eq!(refused(&nots(20_000)).construct, "nesting depth");
    let mixed = format!(
        "SELECT Id FROM Contact WHERE {}a = 1",
        "NOT (".repeat(10_000)
    );
    assert_eq!(refused(&mixed).construct, "nesting depth");

    let list = |n: usize| {
        let items: Vec<String> = (0..n).map(|i| format!("'v{i}'")).collect();
        format!("SELECT Id FROM Contact WHERE a IN ({})", items.join(","))
    };
    ok(&list(MAX_LIST_ITEMS));
    assert_eq!(refused(&list(MAX_LIST_ITEMS + 1)).construct, "list length");

    let long_ok = format!("SELECT Id FROM Contact WHERE a = '{}'", "x".repeat(90_000));
    ok(&long_ok);
    let too_long = format!(
        "SELECT Id FROM Contact WHERE a = '{}'",
        "x".repeat(MAX_QUERY_CHARS)
    );
    let e = refused(&too_long);
    assert_eq!(
        (e.construct, e.position),
        ("query length", MAX_QUERY_CHARS + 1)
    );
    // Lengths count characters, as Salesforce does, not bytes.
    ok(&format!(
        "SELECT Id FROM Contact WHERE a = '{}'",
        "é".repeat(90_000)
    ));

    let many_ands = format!(
        "SELECT Id FROM Contact WHERE {}",
        vec!["a = 1"; 5_000].join(" AND ")
    );
    assert_eq!(ok(&many_ands).filters_by().len(), 5_000);
    // The most conditions 100,000 characters hold, governed in linear time.
    let most: Vec<String> = (0..7_000).map(|i| format!("f{} = 1", i % 3_000)).collect();
    let most = format!("SELECT Id FROM Contact WHERE {}", most.join(" OR "));
    let started = std::time::Instant::now();
    let q = ok(&most);
    assert_eq!(
        (q.filters_by().len(), q.selected_by().len()),
        (7_000, 3_000)
    );
    assert_eq!(q.fields().len(), 3_001);
    assert_eq!(ok(&q.render()), q);
    eprintln!("the largest query took {:?}", started.elapsed());
    // Rebuilt with canonical spacing (and a row condition), a query can outgrow the limit:
    // the checked rendering refuses it rather than send what the CRM would refuse.
    let tight: Vec<String> = (0..9_000).map(|i| format!("f{}=1", i % 3_000)).collect();
    let tight = ok(&format!(
        "SELECT Id FROM Contact WHERE {}",
        tight.join(" OR ")
    ));
    assert!(tight.render().chars().count() > MAX_QUERY_CHARS);
    assert_eq!(
        tight.render_checked().unwrap_err().construct,
        "query length"
    );
    assert_eq!(q.render_checked(), Ok(q.render()));
    let order: Vec<String> = (0..=MAX_ORDER_ITEMS).map(|i| format!("f{i}")).collect();
    let e = refused(&format!(
        "SELECT Id FROM Contact ORDER BY {}",
        order.join(", ")
    ));
    assert_eq!(e.construct, "ORDER BY length");
}

#[test]
fn nul_bytes_non_ascii_and_unterminated_text_answer_an_error() {
    for text in [
        "\0",
        "SELECT\0Id FROM Contact",
        "SELECT Id FROM Contact WHERE a = '\0'",
        "SELECT Id FROM Contäct",
        "SELECT Id FROM Contact WHERE ñ = 1",
        "SELECT Id FROM Contact WHERE a = '",
        "SELECT Id FROM Contact WHERE a = 'x\\'",
        "SELECT Id FROM Contact WHERE a = 2026-12-",
        "SELECT Id FROM Contact WHERE a = 2026-12-07T",
        "SELECT Id FROM Contact WHERE a = 2026-12-07T10:00:00+01",
        "SELECT Id FROM Contact WHERE a = -",
        "SELECT Id FROM Contact WHERE a = LAST_N_DAYS:",
        "SELECT Id FROM Contact WHERE a = LAST_N_DAYS:99999999999",
        "SELECT Id FROM Contact WHERE a IN (",
        "SELECT Id FROM Contact WHERE a IN ('x'",
        "SELECT Id FROM Contact WHERE (",
        "SELECT Id FROM Contact WHERE NOT",
        "SELECT Id FROM Contact ORDER BY a,",
        "SELECT Id FROM Contact LIMIT",
        "SELECT Account. FROM Contact",
        "SELECT Id FROM Contact WHERE a = 1 \u{2028}",
        "SELECT Id FROM Contact\u{feff}",
        "😀",
        "'",
        "\\",
    ] {
        let e = refused(text);
        assert!(e.position >= 1, "`{text}`: {e:?}");
        assert!(e.position <= text.chars().count() + 1, "`{text}`: {e:?}");
    }
    // Non-ASCII inside a string is a value like any other.
    let q = ok("SELECT Id FROM Contact WHERE Name = 'Jürgen 😀 Weihnachtsmann'");
    assert_eq!(ok(&q.render()), q);
}

#[test]
fn an_error_never_quotes_a_string_of_the_query() {
    for text in [
        "SELECT Id FROM Contact WHERE Name = 'secret-value' GROUP BY Name",
        "SELECT Id FROM Contact WHERE Name = 'secret-value' 'secret-value'",
        "SELECT Id FROM Contact WHERE Name = 'secret-value\\q'",
        "SELECT Id FROM Contact WHERE Name IN ('secret-value' 'secret-value')",
        "SELECT Id FROM Contact WHERE Name LIKE 'secret-value' AND",
        "SELECT Id FROM Contact WHERE Name = 'secret-value",
    ] {
        let e = refused(text);
        assert!(!e.to_string().contains("secret"), "`{text}`: {e}");
    }
}

// ---- the round trip, on random queries and on token soup ----------------------------

/// A small deterministic generator (xorshift64*): the tests need no random crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap()
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const NAMES: &[&str] = &[
    "Id",
    "Name",
    "Email",
    "Lifecycle__c",
    "Account",
    "Owner",
    "CreatedDate",
    "order",
    "Select2",
    "x",
    "Billing_IBAN__c",
    "AnnualRevenue",
    "Order",
    "nulls_x",
];

fn random_path(r: &mut Rng) -> FieldPath {
    let n = 1 + r.below(3);
    FieldPath {
        parts: (0..n).map(|_| r.pick(NAMES).to_string()).collect(),
    }
}

fn random_text(r: &mut Rng) -> String {
    const CHARS: &[char] = &[
        'a', 'Z', ' ', '\'', '"', '\\', '%', '_', '\n', '\r', '\t', '\u{8}', '\u{c}', '\u{1}', 'é',
        '😀', ';', '(', ')', ',', '\u{7f}', '\u{2028}',
    ];
    (0..r.below(8)).map(|_| *r.pick(CHARS)).collect()
}

fn random_literal(r: &mut Rng) -> Literal {
    match r.below(7) {
        0 => Literal::Null,
        1 => Literal::Bool(r.chance(50)),
        2 => Literal::Number(r.pick(&["0", "-12", "3.25", "007", "-0.5"]).to_string()),
        3 => Literal::Date(r.pick(&["2026-12-07", "1999-01-31"]).to_string()),
        4 => Literal::DateTime(
            r.pick(&["2026-12-07T10:00:00Z", "2026-12-07T23:59:59.123-08:00"])
                .to_string(),
        ),
        5 => {
            let (name, takes_n) = *r.pick(DATE_LITERALS);
            Literal::Relative(DateLiteral {
                name,
                n: takes_n.then(|| u32::try_from(r.below(500)).unwrap()),
            })
        }
        _ => Literal::String(SoqlString::from_value(&random_text(r))),
    }
}

fn random_pattern(r: &mut Rng) -> SoqlString {
    let mut held = String::new();
    for _ in 0..r.below(6) {
        match r.below(4) {
            0 => held.push_str(r.pick::<&str>(&["\\%", "\\_", "\\\\"])),
            1 => held.push(*r.pick(&['%', '_'])),
            _ => held.push_str(&random_text(r).replace('\\', "\\\\")),
        }
    }
    super::ast::SoqlString::from_held(held)
}

fn random_condition(r: &mut Rng, depth: usize) -> Condition {
    let leaf = depth == 0 || r.chance(40);
    if !leaf {
        return match r.below(3) {
            0 => Condition::Not(Box::new(random_condition(r, depth - 1))),
            k => {
                let parts = (0..2 + r.below(3))
                    .map(|_| random_condition(r, depth - 1))
                    .collect();
                if k == 1 {
                    Condition::And(parts)
                } else {
                    Condition::Or(parts)
                }
            }
        };
    }
    let field = random_path(r);
    match r.below(4) {
        0 => {
            let ops = [
                CompareOp::Eq,
                CompareOp::Ne,
                CompareOp::Lt,
                CompareOp::Le,
                CompareOp::Gt,
                CompareOp::Ge,
            ];
            let op = *r.pick(&ops);
            let mut value = random_literal(r);
            if value == Literal::Null && !matches!(op, CompareOp::Eq | CompareOp::Ne) {
                value = Literal::Bool(true);
            }
            Condition::Compare { field, op, value }
        }
        1 => Condition::Like {
            field,
            pattern: random_pattern(r),
        },
        2 => Condition::In {
            field,
            negated: r.chance(50),
            values: (0..1 + r.below(4)).map(|_| random_literal(r)).collect(),
        },
        _ => Condition::Includes {
            field,
            excludes: r.chance(50),
            values: (0..1 + r.below(3))
                .map(|_| SoqlString::from_value(&random_text(r)))
                .collect(),
        },
    }
}

fn random_query(r: &mut Rng) -> Query {
    let select = if r.chance(15) {
        vec![SelectItem::Count]
    } else {
        (0..1 + r.below(4))
            .map(|_| SelectItem::Field(random_path(r)))
            .collect()
    };
    Query {
        select,
        from: r.pick(&["Contact", "Lead", "Account__c"]).to_string(),
        filter: r.chance(80).then(|| random_condition(r, 5)),
        order_by: (0..r.below(3))
            .map(|_| OrderItem {
                field: random_path(r),
                direction: *r.pick(&[None, Some(Direction::Asc), Some(Direction::Desc)]),
                nulls: *r.pick(&[None, Some(Nulls::First), Some(Nulls::Last)]),
            })
            .collect(),
        limit: r.chance(50).then(|| r.next() % 100_000),
        offset: r.chance(30).then(|| r.next() % 2_001),
    }
}

#[test]
fn a_rendered_query_parses_back_to_the_same_typed_form() {
    let mut r = Rng(0x5eed_c0ff_ee00);
    for _ in 0..3_000 {
        let q = random_query(&mut r);
        let text = q.render();
        match parse(&text) {
            Ok(back) => assert_eq!(back, q, "`{text}`"),
            Err(e) => panic!("`{text}` was refused: {e}"),
        }
    }
}

#[test]
fn token_soup_never_panics_and_what_parses_round_trips() {
    const SOUP: &[&str] = &[
        "SELECT",
        "select",
        "FROM",
        "WHERE",
        "AND",
        "OR",
        "NOT",
        "IN",
        "LIKE",
        "INCLUDES",
        "EXCLUDES",
        "NULL",
        "TRUE",
        "ORDER",
        "BY",
        "ASC",
        "DESC",
        "NULLS",
        "FIRST",
        "LAST",
        "LIMIT",
        "OFFSET",
        "COUNT",
        "GROUP",
        "WITH",
        "FOR",
        "ALL",
        "ROWS",
        "TYPEOF",
        "FIELDS",
        "Id",
        "Name",
        "Account",
        "Contact",
        "Who",
        "TODAY",
        "LAST_N_DAYS",
        "(",
        ")",
        "((",
        ",",
        ".",
        "=",
        "!=",
        "<>",
        "<",
        "<=",
        ">",
        ">=",
        ":",
        "'x'",
        "'it\\'s'",
        "'\\%'",
        "'",
        "\\",
        "'\\u00e9'",
        "1",
        "-2.5",
        "1e5",
        "2026-12-07",
        "2026-12-07T10:00:00Z",
        "2026-13-07",
        "--",
        "/*",
        "\0",
        "é",
        "😀",
        ";",
        "*",
        "\"",
        "_x",
        "",
    ];
    let mut r = Rng(0xdead_beef_1234);
    let mut parsed = 0;
    for _ in 0..30_000 {
        let mut text = String::new();
        if r.chance(70) {
            text.push_str("SELECT Id FROM Contact ");
        }
        for _ in 0..r.below(25) {
            text.push_str(r.pick::<&str>(SOUP));
            text.push_str(r.pick::<&str>(&[" ", " ", "", "\n"]));
        }
        if let Ok(q) = parse(&text) {
            parsed += 1;
            assert_eq!(parse(&q.render()), Ok(q), "`{text}`");
        }
    }
    assert!(parsed > 100, "the soup parsed only {parsed} times");
}

// ---- governance ---------------------------------------------------------------------

#[test]
fn the_fields_a_query_selects_filters_and_orders_by_are_all_named() {
    let q = ok("SELECT Id, Account.Name FROM Contact \
         WHERE (Email LIKE 'a%' OR NOT (Account.Industry = 'Toys')) AND Tags__c INCLUDES ('x') \
         AND email != NULL AND Birthdate IN (2026-12-07) ORDER BY LastName, EMAIL");
    let dotted = |v: Vec<&FieldPath>| v.iter().map(|f| f.dotted()).collect::<Vec<_>>();
    assert_eq!(dotted(q.selects()), ["Id", "Account.Name"]);
    assert_eq!(
        dotted(q.filters_by()),
        ["Email", "Account.Industry", "Tags__c", "email", "Birthdate"]
    );
    assert_eq!(dotted(q.orders_by()), ["LastName", "EMAIL"]);
    assert_eq!(
        dotted(q.selected_by()),
        [
            "Email",
            "Account.Industry",
            "Tags__c",
            "Birthdate",
            "LastName"
        ]
    );
    assert_eq!(
        dotted(q.fields()),
        [
            "Id",
            "Account.Name",
            "Email",
            "Account.Industry",
            "Tags__c",
            "Birthdate",
            "LastName"
        ]
    );
    assert!(!q.is_count());
    assert!(ok("select count() from Contact where Email = 'x'").is_count());
}

#[test]
fn a_row_condition_narrows_the_clients_condition_and_never_replaces_it() {
    let extra = Condition::Compare {
        field: path("Lifecycle__c"),
        op: CompareOp::Eq,
        value: Literal::String(SoqlString::from_value("customer")),
    };
    let mut q = ok("SELECT Id FROM Contact WHERE Email = 'a' OR Phone = 'b' LIMIT 5 OFFSET 10");
    q.and_condition(extra.clone());
    assert_eq!(
        q.render(),
        "SELECT Id FROM Contact WHERE (Email = 'a' OR Phone = 'b') AND Lifecycle__c = 'customer' LIMIT 5 OFFSET 10"
    );
    let mut q = ok("SELECT Id FROM Contact WHERE Email = 'a' AND Phone = 'b'");
    q.and_condition(extra.clone());
    assert_eq!(
        q.render(),
        "SELECT Id FROM Contact WHERE (Email = 'a' AND Phone = 'b') AND Lifecycle__c = 'customer'"
    );
    let mut q = ok("SELECT Id FROM Contact ORDER BY Id");
    q.and_condition(extra);
    assert_eq!(
        q.render(),
        "SELECT Id FROM Contact WHERE Lifecycle__c = 'customer' ORDER BY Id"
    );
    let paged = ok("SELECT Id FROM Contact LIMIT 5 OFFSET 10");
    assert_eq!((paged.limit(), paged.offset()), (Some(5), Some(10)));
    let whole = paged.without_paging();
    assert_eq!((whole.limit(), whole.offset()), (None, None));
    assert_eq!(whole.render(), "SELECT Id FROM Contact");
}

#[test]
fn fields_added_for_the_policies_are_added_once_and_never_to_a_count() {
    let mut q = ok("SELECT Id, lifecycle__C FROM Contact");
    assert!(!q.add_field(path("Lifecycle__c")));
    assert!(q.add_field(path("Owner_Department__c")));
    assert!(!q.add_field(path("OWNER_DEPARTMENT__C")));
    assert_eq!(
        q.render(),
        "SELECT Id, lifecycle__C, Owner_Department__c FROM Contact"
    );
    let mut count = ok("SELECT COUNT() FROM Contact WHERE Email != NULL LIMIT 5");
    assert!(!count.add_field(path("Lifecycle__c")));
    assert_eq!(
        count.render(),
        "SELECT COUNT() FROM Contact WHERE Email != NULL LIMIT 5"
    );
    // A count is read as records when crmgate counts what the caller is shown.
    let records = count.with_fields(vec![path("Id"), path("Lifecycle__c")]);
    assert!(!records.is_count());
    assert_eq!(
        records.without_paging().render(),
        "SELECT Id, Lifecycle__c FROM Contact WHERE Email != NULL"
    );
    assert_eq!(
        count.with_fields(Vec::new()).render(),
        "SELECT Id FROM Contact WHERE Email != NULL LIMIT 5"
    );
}

fn contact_profile() -> std::sync::Arc<crate::routes::ResourceProfile> {
    let routes = crate::routes::RouteTable::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/routes.toml"),
    )
    .unwrap();
    routes.resource("Contact").unwrap().clone()
}

#[test]
fn names_resolve_against_a_resource_whatever_their_case() {
    let res = contact_profile();
    let (name, group) = resolve(&res, &path("EMAIL")).unwrap();
    assert_eq!((name, res.groups[group].as_str()), ("email", "email"));
    let (name, group) = resolve(&res, &path("Archived")).unwrap();
    assert_eq!((name, res.groups[group].as_str()), ("archived", "meta"));
    assert!(resolve(&res, &path("Account.email")).is_none());
    assert!(resolve(&res, &path("nosuchfield")).is_none());
    let map: std::collections::BTreeMap<String, u8> =
        [("Name".to_string(), 1), ("NAME".to_string(), 2)].into();
    assert_eq!(lookup(&map, "NAME"), Some(("NAME", &2)));
    assert!(lookup(&map, "name").is_some());
}

#[test]
fn the_row_condition_is_pushed_down_as_exact_values_and_nothing_else() {
    use crate::policy::plan::OTHER_VALUE;
    use crate::routes::AttrValue::{Bool, Str};
    let res = contact_profile();
    let idx = |name: &str| res.attributes.iter().position(|a| a.name == name).unwrap();
    let field_of = |p: &str| {
        Some(
            match p {
                "lifecyclestage" => "Lifecycle__c",
                "owner_department" => "Owner_Department__c",
                "data_source" => "Data_Source__c",
                "consent_greetings" => "Consent_Greetings__c",
                "archived" => "IsDeleted",
                _ => return None,
            }
            .to_string(),
        )
    };
    let s = |v: &str| Some(Str(v.to_string()));
    let pushed = |rows: crate::policy::plan::RowCondition| {
        pushdown(&res, &rows, field_of).map(|c| c.render())
    };
    assert_eq!(
        pushed(vec![(idx("lifecycle"), vec![s("customer"), s("lead")])]).as_deref(),
        Some("Lifecycle__c IN ('customer', 'lead')")
    );
    assert_eq!(
        pushed(vec![
            (idx("lifecycle"), vec![s("customer")]),
            (idx("owner_department"), vec![s("sales"), s("field_sales")]),
            (idx("consent_greetings"), vec![Some(Bool(true))]),
        ])
        .as_deref(),
        Some(
            "Lifecycle__c = 'customer' AND Owner_Department__c IN ('sales', 'field_sales') \
             AND Consent_Greetings__c = TRUE"
        )
    );
    // A record without the value has the default: shown, so `= NULL` is pushed with it.
    assert_eq!(
        pushed(vec![(idx("data_source"), vec![s("unknown"), s("order")])]).as_deref(),
        Some("Data_Source__c IN ('unknown', 'order') OR Data_Source__c = NULL")
    );
    assert_eq!(
        pushed(vec![(idx("archived"), vec![Some(Bool(false))])]).as_deref(),
        Some("IsDeleted = FALSE OR IsDeleted = NULL")
    );
    assert_eq!(
        pushed(vec![(idx("lifecycle"), vec![None, s("lead")])]).as_deref(),
        Some("Lifecycle__c = 'lead' OR Lifecycle__c = NULL")
    );
    // What no literal can say is left to the per-row decision.
    assert_eq!(pushed(vec![(idx("lifecycle"), vec![s(OTHER_VALUE)])]), None);
    assert_eq!(pushed(vec![(idx("owner_department"), vec![s("")])]), None);
    assert_eq!(
        pushed(vec![(idx("due_for_deletion"), vec![Some(Bool(false))])]),
        None
    );
    assert_eq!(
        pushed(vec![(idx("consent_survey"), vec![Some(Bool(true))])]),
        None
    );
    assert_eq!(pushed(vec![(99, vec![s("x")])]), None);
    assert_eq!(pushed(vec![]), None);
    // A value is a literal, never query text.
    assert_eq!(
        pushed(vec![(idx("lifecycle"), vec![s("x') OR (Name != 'y")])]).as_deref(),
        Some("Lifecycle__c = 'x\\') OR (Name != \\'y'")
    );
    // ANDed into a client's query, the pushed condition narrows it and parses back.
    let mut q = ok("SELECT Id FROM Contact WHERE Email LIKE 'a%' OR Phone != NULL");
    q.and_condition(
        pushdown(
            &res,
            &vec![(idx("data_source"), vec![s("unknown"), s("order")])],
            field_of,
        )
        .unwrap(),
    );
    assert_eq!(
        q.render(),
        "SELECT Id FROM Contact WHERE (Email LIKE 'a%' OR Phone != NULL) AND \
         (Data_Source__c IN ('unknown', 'order') OR Data_Source__c = NULL)"
    );
    assert_eq!(ok(&q.render()), q);
}

/// A pushed-down condition on a flat record (field → value, `None` for null), the way
/// the CRM evaluates `=`, `IN`, `OR` and `AND` (the only forms a pushdown writes).
fn holds(
    c: &Condition,
    record: &std::collections::HashMap<String, crate::routes::AttrValue>,
) -> bool {
    use crate::routes::AttrValue;
    let lit = |l: &Literal| match l {
        Literal::Null => None,
        Literal::String(s) => Some(AttrValue::Str(s.value())),
        Literal::Bool(b) => Some(AttrValue::Bool(*b)),
        Literal::Number(n) => Some(AttrValue::Long(n.parse().unwrap())),
        other => panic!("a pushdown wrote {other:?}"),
    };
    match c {
        Condition::And(cs) => cs.iter().all(|c| holds(c, record)),
        Condition::Or(cs) => cs.iter().any(|c| holds(c, record)),
        Condition::Compare {
            field,
            op: CompareOp::Eq,
            value,
        } => record.get(&field.dotted()).cloned() == lit(value),
        Condition::In {
            field,
            negated: false,
            values,
        } => {
            let v = record.get(&field.dotted()).cloned();
            v.is_some() && values.iter().any(|l| lit(l) == v)
        }
        other => panic!("a pushdown wrote {other:?}"),
    }
}

#[test]
fn a_pushed_down_row_condition_never_hides_a_record_the_caller_may_see() {
    use crate::policy::plan::OTHER_VALUE;
    use crate::routes::{AttrSource, AttrType, AttrValue};
    let res = contact_profile();
    let field_of = |p: &str| Some(format!("F_{p}"));
    // Each pushable attribute's domain: its values, a value the routes file does not
    // declare, and no value.
    let domains: Vec<(usize, Vec<Option<AttrValue>>)> = res
        .attributes
        .iter()
        .enumerate()
        .filter(|(_, a)| !matches!(a.source, AttrSource::Computed(_)))
        .map(|(i, a)| {
            let mut d: Vec<Option<AttrValue>> = match a.kind {
                AttrType::Bool => vec![Some(AttrValue::Bool(false)), Some(AttrValue::Bool(true))],
                _ => a.values.iter().cloned().map(Some).collect(),
            };
            if a.kind == AttrType::String {
                d.push(Some(AttrValue::Str("undeclared".into())));
            }
            d.push(None);
            (i, d)
        })
        .collect();
    let attribute = |i: usize, stored: Option<&AttrValue>| -> Option<AttrValue> {
        stored
            .cloned()
            .or_else(|| res.attributes[i].default.clone())
    };
    let admits = |shown: &[Option<AttrValue>], v: &Option<AttrValue>| {
        shown.contains(v)
            || shown.contains(&Some(AttrValue::Str(OTHER_VALUE.into())))
                && matches!(v, Some(AttrValue::Str(s)) if !res.attributes.iter().any(|a| a.values.contains(&AttrValue::Str(s.clone()))))
    };
    let mut r = Rng(0x0bad_cafe_f00d);
    let mut pushed_some = 0;
    for _ in 0..400 {
        // A row condition: some attributes, each with some of its values shown (as the
        // planner's attribute values: a missing value is the default where there is one).
        let mut rows = Vec::new();
        for (i, d) in &domains {
            if !r.chance(40) {
                continue;
            }
            let mut shown: Vec<Option<AttrValue>> = Vec::new();
            for v in d {
                let v = match v {
                    Some(AttrValue::Str(s)) if s == "undeclared" => {
                        Some(AttrValue::Str(OTHER_VALUE.into()))
                    }
                    None => attribute(*i, None),
                    v => v.clone(),
                };
                if r.chance(50) && !shown.contains(&v) {
                    shown.push(v);
                }
            }
            if !shown.is_empty() {
                rows.push((*i, shown));
            }
        }
        let Some(pushed) = pushdown(&res, &rows, field_of) else {
            continue;
        };
        pushed_some += 1;
        for _ in 0..50 {
            let mut record = std::collections::HashMap::new();
            let mut visible = true;
            for (i, d) in &domains {
                let stored = r.pick(d).clone();
                let (AttrSource::Property(p) | AttrSource::Field(p)) = &res.attributes[*i].source
                else {
                    unreachable!()
                };
                if let Some(v) = &stored {
                    record.insert(format!("F_{p}"), v.clone());
                }
                let value = attribute(*i, stored.as_ref());
                if let Some((_, shown)) = rows.iter().find(|(j, _)| j == i) {
                    visible &= admits(shown, &value);
                }
            }
            if visible {
                assert!(
                    holds(&pushed, &record),
                    "`{}` hides the visible record {record:?} (rows {rows:?})",
                    pushed.render()
                );
            }
        }
    }
    assert!(
        pushed_some > 100,
        "only {pushed_some} conditions were pushed"
    );
}
