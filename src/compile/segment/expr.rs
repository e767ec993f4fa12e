//! The `sql:` escape hatch of a segment rule: the text must be exactly one
//! BigQuery expression (sqlparser's BigQuery dialect), with no comments and no
//! `;`, so wrapped in parentheses it cannot reach outside its own condition.

use datafusion::sql::sqlparser::dialect::BigQueryDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer, Whitespace};

/// Check that `text` is one BigQuery expression; the error says why not.
pub fn check_expression(text: &str) -> Result<(), String> {
    let dialect = BigQueryDialect {};
    let tokens = Tokenizer::new(&dialect, text)
        .with_unescape(false)
        .tokenize_with_location()
        .map_err(|e| format!("syntax error: {}", strip_position(&e.to_string())))?;
    for token in &tokens {
        match &token.token {
            Token::Whitespace(Whitespace::SingleLineComment { .. })
            | Token::Whitespace(Whitespace::MultiLineComment(_)) => {
                return Err("comments are not allowed in a `sql:` rule".into());
            }
            Token::SemiColon => return Err("`;` is not allowed in a `sql:` rule".into()),
            _ => {}
        }
    }
    let mut parser = Parser::new(&dialect).with_tokens_with_locations(tokens);
    parser
        .parse_expr()
        .map_err(|e| format!("syntax error: {}", strip_position(&e.to_string())))?;
    match parser.peek_token().token {
        Token::EOF => Ok(()),
        other => Err(format!("expected one expression, found `{other}` after it")),
    }
}

/// sqlparser appends " at Line: 1, Column: 7"; the location is the YAML value's.
fn strip_position(message: &str) -> &str {
    let message = message
        .strip_prefix("sql parser error: ")
        .unwrap_or(message);
    match message.rfind(" at Line: ") {
        Some(idx) => &message[..idx],
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_single_expressions() {
        for ok in [
            "sessions_30d < sessions_prev_30d",
            "a + 1 > 2 and (b is null or c in (1, 2))",
            "lower(email) like '%@example.com'",
            "'a;b -- c' = x",
            "x in (select 1)",
            "case when a then b else c end",
        ] {
            assert_eq!(check_expression(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_anything_that_reaches_outside() {
        for bad in [
            "true; drop table x",
            "1 = 1) union all select * from `raw.raw_customers` where (true",
            "1 = 1) or (true",
            "a > 1 -- the rest",
            "a > 1 # hash comment",
            "a /* swallow */ > 1",
            "a > 1 union select 1",
            "a > 1 ) --",
            "select 1",
            "a b",
            "'unterminated",
            "",
        ] {
            assert!(check_expression(bad).is_err(), "{bad}");
        }
        assert_eq!(
            check_expression("a > 1 -- x").unwrap_err(),
            "comments are not allowed in a `sql:` rule"
        );
        assert!(
            check_expression("a > 1 union select 1")
                .unwrap_err()
                .contains("expected one expression"),
        );
    }
}
