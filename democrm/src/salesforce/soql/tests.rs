//! Tests of the SOQL subset's parser: each construct parses into the tree the
//! evaluator expects, and what is not in the subset is refused. They must never
//! depend on the store.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use super::*;

fn cond(text: &str) -> Cond {
    parse(&format!("SELECT Id FROM Contact WHERE {text}"))
        .unwrap()
        .filter
        .unwrap()
}

#[test]
fn a_full_select_parses_into_its_parts() {
    let select = parse(
        "select Id, account.Name FROM contact where Email != null \
         order by LastName desc nulls first, Id LIMIT 5 offset 10",
    )
    .unwrap();
    assert_eq!(
        select.projection,
        Projection::Fields(vec!["Id".into(), "account.Name".into()])
    );
    assert_eq!(select.object, "contact");
    assert_eq!(
        select.filter,
        Some(Cond::Compare("Email".into(), Op::Ne, Literal::Null))
    );
    assert_eq!(
        select.order,
        vec![
            Order {
                field: "LastName".into(),
                descending: true,
                nulls_last: false
            },
            Order {
                field: "Id".into(),
                descending: false,
                nulls_last: false
            },
        ]
    );
    assert_eq!((select.limit, select.offset), (Some(5), Some(10)));
    assert_eq!(
        parse("SELECT COUNT() FROM Lead").unwrap().projection,
        Projection::Count
    );
}

#[test]
fn every_condition_of_the_subset_parses() {
    assert_eq!(
        cond("Name LIKE 'Scr%' AND (A = 1 OR B <> 'x') AND NOT C = true"),
        Cond::All(vec![
            Cond::Like("Name".into(), "Scr%".into()),
            Cond::Any(vec![
                Cond::Compare("A".into(), Op::Eq, Literal::Number(1.0)),
                Cond::Compare("B".into(), Op::Ne, Literal::Text("x".into())),
            ]),
            Cond::Not(Box::new(Cond::Compare(
                "C".into(),
                Op::Eq,
                Literal::Bool(true)
            ))),
        ])
    );
    assert_eq!(
        cond("Lifecycle__c NOT IN ('lead', 'other')"),
        Cond::In(
            "Lifecycle__c".into(),
            true,
            vec![Literal::Text("lead".into()), Literal::Text("other".into())]
        )
    );
    assert_eq!(
        cond("Payment_Method__c EXCLUDES ('invoice;credit_card')"),
        Cond::Includes(
            "Payment_Method__c".into(),
            true,
            vec!["invoice;credit_card".into()]
        )
    );
    assert_eq!(
        cond("Birthdate >= 1990-01-01"),
        Cond::Compare(
            "Birthdate".into(),
            Op::Ge,
            Literal::Date("1990-01-01".into())
        )
    );
    assert_eq!(
        cond("CreatedDate < 2026-12-07T10:00:00.000+0000"),
        Cond::Compare(
            "CreatedDate".into(),
            Op::Lt,
            Literal::DateTime("2026-12-07T10:00:00.000+0000".into())
        )
    );
    assert_eq!(
        cond("Last_Activity_Date__c = LAST_N_DAYS:30"),
        Cond::Compare(
            "Last_Activity_Date__c".into(),
            Op::Eq,
            Literal::Range(DateRange::LastNDays(30))
        )
    );
    assert_eq!(
        cond("Name = 'O\\'Brien\\\\'"),
        Cond::Compare("Name".into(), Op::Eq, Literal::Text("O'Brien\\".into()))
    );
    assert_eq!(
        cond("AnnualRevenue > -1.5"),
        Cond::Compare("AnnualRevenue".into(), Op::Gt, Literal::Number(-1.5))
    );
}

#[test]
fn what_is_not_in_the_subset_is_refused_with_the_place() {
    for text in [
        "SELECT FROM Contact",
        "SELECT Id FROM Contact WHERE A = 1 AND B = 2 OR C = 3",
        "SELECT Id FROM Contact GROUP BY Id",
        "SELECT Id, (SELECT Id FROM Contacts) FROM Account",
        "SELECT Id FROM Contact WHERE Name = 'open",
        "SELECT Id FROM Contact WHERE",
        "SELECT Id FROM Contact LIMIT x",
        "SELECT COUNT(Id) FROM Contact",
        "SELECT Id FROM Contact WHERE Id = LAST_N_DAYS",
        "SELECT Id FROM Contact WHERE Name LIKE 5",
        "SELECT Id FROM Contact WHERE Payment_Method__c INCLUDES (1)",
    ] {
        let error = parse(text).unwrap_err();
        assert!(error.offset <= text.len(), "{text}");
        assert!(!error.message.is_empty(), "{text}");
    }
    let error = parse("SELECT Id FROM Contact WHERE A = 1 AND B = 2 OR C = 3").unwrap_err();
    assert_eq!(error.message, "unexpected token: 'OR'");
}
