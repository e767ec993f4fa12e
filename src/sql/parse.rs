//! Parsing BigQuery (GoogleSQL) text into sqlparser's AST with the BigQuery
//! dialect. Syntax errors carry the 1-based line and column sqlparser reports.

use datafusion::sql::sqlparser::ast::Statement;
use datafusion::sql::sqlparser::dialect::BigQueryDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use super::SqlError;

/// Parses BigQuery SQL into statements. Syntax errors carry line and column.
pub fn parse_bigquery(sql: &str) -> Result<Vec<Statement>, SqlError> {
    let dialect = BigQueryDialect {};
    // Escapes stay in string literals; the translator resolves them with
    // BigQuery's rules (sqlparser would turn '\u2168' into 'u2168').
    let mut tokens = Tokenizer::new(&dialect, sql)
        .with_unescape(false)
        .tokenize_with_location()
        .map_err(|e| syntax_error(&ParserError::TokenizerError(e.to_string())))?;
    quote_safe_function_names(&mut tokens);
    Parser::new(&dialect)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(|e| syntax_error(&e))
}

/// `SAFE.SUBSTR(...)`: sqlparser reads a keyword after `SAFE.` with its
/// special syntax (SUBSTR, TRIM, ...) and fails; quoting the name makes it a
/// plain function name, which is what BigQuery means.
fn quote_safe_function_names(tokens: &mut [TokenWithSpan]) {
    let mentions_safe = tokens.iter().any(|t| {
        matches!(&t.token, Token::Word(word) if word.quote_style.is_none() && word.value.eq_ignore_ascii_case("SAFE"))
    });
    if !mentions_safe {
        return;
    }
    let significant: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
        .collect();
    for w in significant.windows(4) {
        let is_safe = matches!(&tokens[w[0]].token,
            Token::Word(word) if word.quote_style.is_none() && word.value.eq_ignore_ascii_case("SAFE"));
        let call = tokens[w[1]].token == Token::Period && tokens[w[3]].token == Token::LParen;
        if is_safe
            && call
            && let Token::Word(name) = &mut tokens[w[2]].token
            && name.quote_style.is_none()
            && name.keyword != Keyword::NoKeyword
        {
            name.quote_style = Some('`');
            name.keyword = Keyword::NoKeyword;
        }
    }
}

/// Parses BigQuery SQL that must hold exactly one statement.
pub fn parse_single(sql: &str) -> Result<Statement, SqlError> {
    let mut statements = parse_bigquery(sql)?;
    match statements.len() {
        1 => Ok(statements.remove(0)),
        0 => Err(SqlError::syntax("syntax error: the SQL holds no statement")),
        n => Err(SqlError::syntax(format!(
            "syntax error: expected one statement, found {n}"
        ))),
    }
}

/// Turns a sqlparser error into a [`SqlError`], moving "at Line: X, Column: Y"
/// into the position fields.
fn syntax_error(err: &ParserError) -> SqlError {
    let raw = match err {
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => m.clone(),
        ParserError::RecursionLimitExceeded => "the query nests too deeply".to_string(),
    };
    let (text, position) = split_position(&raw);
    let mut error = SqlError::syntax(format!("syntax error: {text}"));
    if let Some((line, column)) = position {
        error.line = Some(line);
        error.column = Some(column);
    }
    error
}

/// Splits "message at Line: 3, Column: 7" into the message and (3, 7).
fn split_position(raw: &str) -> (String, Option<(usize, usize)>) {
    const MARKER: &str = " at Line: ";
    let Some(at) = raw.rfind(MARKER) else {
        return (raw.trim().to_string(), None);
    };
    let tail = &raw[at + MARKER.len()..];
    let mut parts = tail.splitn(2, ", Column: ");
    let line = parts.next().and_then(|l| l.trim().parse::<usize>().ok());
    let column = parts.next().and_then(|c| {
        let digits: String = c.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<usize>().ok()
    });
    match (line, column) {
        (Some(line), Some(column)) => (raw[..at].trim().to_string(), Some((line, column))),
        _ => (raw.trim().to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::SqlErrorKind;

    #[test]
    fn parses_safe_prefix_on_keyword_functions() {
        let stmts = parse_bigquery("SELECT SAFE.SUBSTR('bar', 0, -2), SAFE . TRIM('x')").unwrap();
        assert_eq!(stmts.len(), 1);
    }

    #[test]
    fn parses_backtick_names() {
        let stmts = parse_bigquery("SELECT a FROM `proj.ds.t`").unwrap();
        assert_eq!(stmts.len(), 1);
    }

    #[test]
    fn syntax_error_has_position() {
        let err = parse_bigquery("SELECT a\nFROM t WHERE )").unwrap_err();
        assert_eq!(err.kind, SqlErrorKind::Syntax);
        assert!(err.message.starts_with("syntax error: "), "{}", err.message);
        assert!(!err.message.contains("Line:"), "{}", err.message);
        assert_eq!(err.line, Some(2));
        assert!(err.column.is_some());
    }

    #[test]
    fn splits_position() {
        let (m, p) = split_position("Expected: x, found: y at Line: 3, Column: 17");
        assert_eq!(m, "Expected: x, found: y");
        assert_eq!(p, Some((3, 17)));
        assert_eq!(split_position("plain").1, None);
    }

    #[test]
    fn single_statement_required() {
        let err = parse_single("SELECT 1; SELECT 2").unwrap_err();
        assert_eq!(err.kind, SqlErrorKind::Syntax);
    }
}
