//! SQL as the data explorer's editor sees it, before any server does: one small lexer
//! (keywords, names, strings, numbers, comments) that serves the highlighting, the split into
//! statements (`;` outside strings and comments), the statement under the cursor, the word
//! being typed (for completions), and the read-only check — a statement that does not start
//! with `SELECT`, `WITH`, `SHOW`, `DESCRIBE`, `EXPLAIN` or `EXISTS` changes something and is
//! refused unless changes are allowed (the server is told `readonly` too, so this is the
//! clear message, not the only guard).
//!
//! Main types: [`Token`], [`TokenKind`], [`Statement`].

use std::ops::Range;

/// What a piece of SQL text is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Keyword,
    /// A name: a table, column or function, plain or quoted with backquotes or `"`.
    Name,
    String,
    Number,
    Comment,
    /// Operators, commas, parentheses.
    Punctuation,
    Space,
}

/// A piece of the text: its kind and byte range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub range: Range<usize>,
}

/// Words highlighted as keywords (matched without regard to case).
const KEYWORDS: &[&str] = &[
    "ADD",
    "ALL",
    "ALTER",
    "AND",
    "ANY",
    "ARRAY",
    "AS",
    "ASC",
    "ATTACH",
    "BETWEEN",
    "BY",
    "CASE",
    "CAST",
    "CREATE",
    "CROSS",
    "DATABASE",
    "DELETE",
    "DESC",
    "DESCRIBE",
    "DETACH",
    "DISTINCT",
    "DROP",
    "ELSE",
    "END",
    "EXCHANGE",
    "EXISTS",
    "EXPLAIN",
    "FINAL",
    "FORMAT",
    "FROM",
    "FULL",
    "GLOBAL",
    "GRANT",
    "GROUP",
    "HAVING",
    "IF",
    "ILIKE",
    "IN",
    "INNER",
    "INSERT",
    "INTERVAL",
    "INTO",
    "IS",
    "JOIN",
    "KILL",
    "LEFT",
    "LIKE",
    "LIMIT",
    "MOVE",
    "NOT",
    "NULL",
    "OFFSET",
    "ON",
    "OPTIMIZE",
    "OR",
    "ORDER",
    "OUTER",
    "OUTFILE",
    "PARTITION",
    "PREWHERE",
    "RENAME",
    "REVOKE",
    "RIGHT",
    "SAMPLE",
    "SELECT",
    "SET",
    "SETTINGS",
    "SHOW",
    "SYSTEM",
    "TABLE",
    "THEN",
    "TO",
    "TOTALS",
    "TRUNCATE",
    "UNION",
    "UPDATE",
    "USE",
    "USING",
    "VALUES",
    "WHEN",
    "WHERE",
    "WITH",
];

/// Statements that only read.
const READING: &[&str] = &[
    "SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "EXISTS",
];

/// Statements that change data or the server.
const CHANGING: &[&str] = &[
    "ALTER", "ATTACH", "BACKUP", "CREATE", "DELETE", "DETACH", "DROP", "EXCHANGE", "GRANT",
    "INSERT", "KILL", "MOVE", "OPTIMIZE", "RENAME", "REPLACE", "RESTORE", "REVOKE", "SET",
    "SYSTEM", "TRUNCATE", "UNDROP", "UPDATE", "USE",
];

pub fn is_keyword(word: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// End of a quoted run starting at `start` (its opening quote), after the closing quote or at
/// the end of the text; `\x` and a doubled quote stay inside.
fn quoted_end(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == quote => {
                if bytes.get(i + 1) == Some(&quote) {
                    i += 2;
                } else {
                    return i + 1;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The text cut into tokens, covering every byte.
pub fn tokens(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let b = bytes[i];
        let kind = if b.is_ascii_whitespace() {
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            TokenKind::Space
        } else if b == b'-' && bytes.get(i + 1) == Some(&b'-') {
            i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
            TokenKind::Comment
        } else if b == b'/' && bytes.get(i + 1) == Some(&b'*') {
            i = text[i + 2..]
                .find("*/")
                .map_or(bytes.len(), |n| i + 2 + n + 2);
            TokenKind::Comment
        } else if b == b'\'' {
            i = quoted_end(bytes, i);
            TokenKind::String
        } else if b == b'`' || b == b'"' {
            i = quoted_end(bytes, i);
            TokenKind::Name
        } else if b.is_ascii_digit() {
            while i < bytes.len() && (is_word_byte(bytes[i]) || bytes[i] == b'.') {
                i += 1;
            }
            TokenKind::Number
        } else if is_word_byte(b) {
            while i < bytes.len() && is_word_byte(bytes[i]) {
                i += 1;
            }
            if is_keyword(&text[start..i]) {
                TokenKind::Keyword
            } else {
                TokenKind::Name
            }
        } else {
            // One character (whole, not one byte of it).
            i += text[i..].chars().next().map_or(1, char::len_utf8);
            TokenKind::Punctuation
        };
        out.push(Token {
            kind,
            range: start..i,
        });
    }
    out
}

/// One statement of the editor's text: its byte range (without the `;`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub range: Range<usize>,
}

/// The statements of `text`, split at `;` outside strings and comments; blank ones left out.
pub fn statements(text: &str) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut push = |range: Range<usize>| {
        if !only_comments(&text[range.clone()]) {
            out.push(Statement { range });
        }
    };
    for token in tokens(text) {
        if token.kind == TokenKind::Punctuation && &text[token.range.clone()] == ";" {
            push(start..token.range.start);
            start = token.range.end;
        }
    }
    push(start..text.len());
    out
}

fn only_comments(text: &str) -> bool {
    tokens(text)
        .iter()
        .all(|t| matches!(t.kind, TokenKind::Space | TokenKind::Comment))
}

/// The statement the cursor (a byte offset) is in or just after; the last one when the
/// cursor is past them all.
pub fn statement_at(text: &str, cursor: usize) -> Option<&str> {
    let all = statements(text);
    let chosen = all
        .iter()
        .find(|s| cursor <= s.range.end)
        .or_else(|| all.last())?;
    Some(text[chosen.range.clone()].trim())
}

/// The first keyword of a statement, upper case (`(SELECT …)` looked into).
fn first_word(statement: &str) -> Option<String> {
    tokens(statement)
        .into_iter()
        .find(|t| {
            !matches!(t.kind, TokenKind::Space | TokenKind::Comment)
                && &statement[t.range.clone()] != "("
        })
        .map(|t| statement[t.range].to_ascii_uppercase())
}

/// Why a statement may not run in the data explorer; `None` when it may. While read-only,
/// statements that start with a word that changes data or the server are refused here with
/// a clear reason; anything else goes to the server, which is told `readonly` and refuses
/// what writes (a typo gets its syntax error, `CHECK TABLE` runs).
pub fn refusal(statement: &str, allow_changes: bool) -> Option<String> {
    let Some(first) = first_word(statement) else {
        return Some("there is no statement to run".to_owned());
    };
    if !allow_changes && CHANGING.contains(&first.as_str()) {
        return Some(format!(
            "`{first}` changes data or the server, and changes are off (read-only): allow \
             changes to run it"
        ));
    }
    let significant: Vec<Token> = tokens(statement)
        .into_iter()
        .filter(|t| !matches!(t.kind, TokenKind::Space | TokenKind::Comment))
        .collect();
    let upper = |t: &Token| statement[t.range.clone()].to_ascii_uppercase();
    for (i, token) in significant.iter().enumerate() {
        if token.kind != TokenKind::Keyword {
            continue;
        }
        let word = upper(token);
        let before = i.checked_sub(1).map(|b| upper(&significant[b]));
        let after = significant.get(i + 1);
        // `FORMAT JSON` (not a column named format: `AS format`, `t.format`, `format(`).
        if READING.contains(&first.as_str())
            && word == "FORMAT"
            && before.as_deref() != Some("AS")
            && before.as_deref() != Some(".")
            && after.is_some_and(|t| t.kind == TokenKind::Name)
        {
            return Some(
                "remove the FORMAT clause: results come back as a table (export writes CSV \
                 or Parquet)"
                    .to_owned(),
            );
        }
        if word == "OUTFILE" && before.as_deref() == Some("INTO") {
            return Some(
                "INTO OUTFILE writes on the server's disk and is not run from here".to_owned(),
            );
        }
    }
    None
}

/// The word (letters, digits, `_`, `.`) that ends at `cursor`, with its start: what the user
/// is typing, for completions.
pub fn word_before(text: &str, cursor: usize) -> (usize, &str) {
    let cursor = cursor.min(text.len());
    let bytes = text.as_bytes();
    let mut start = cursor;
    while start > 0 && (is_word_byte(bytes[start - 1]) || bytes[start - 1] == b'.') {
        start -= 1;
    }
    // A cursor inside a multi-byte character: no word.
    match text.get(start..cursor) {
        Some(word) => (start, word),
        None => (cursor, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_cover_the_text_and_know_strings_and_comments() {
        let text = "SELECT 'a;b' AS `x;y`, 1.5e3 -- c;d\nFROM t /* ; */";
        let all = tokens(text);
        assert_eq!(all.last().map(|t| t.range.end), Some(text.len()));
        use TokenKind::*;
        let kinds: Vec<TokenKind> = all
            .iter()
            .filter(|t| t.kind != Space)
            .map(|t| t.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                Keyword,
                String,
                Keyword,
                Name,
                Punctuation,
                Number,
                Comment,
                Keyword,
                Name,
                Comment
            ]
        );
    }

    #[test]
    fn statements_split_outside_strings_and_the_cursor_picks_one() {
        let text = "SELECT ';'; -- only a comment\n;\nSELECT 2;  ";
        let all = statements(text);
        assert_eq!(all.len(), 2);
        assert_eq!(statement_at(text, 0), Some("SELECT ';'"));
        assert_eq!(statement_at(text, text.len()), Some("SELECT 2"));
        let second = text.find("SELECT 2").unwrap_or_default();
        assert_eq!(statement_at(text, second + 3), Some("SELECT 2"));
        assert_eq!(statement_at("  ", 1), None);
    }

    #[test]
    fn only_reading_statements_run_while_read_only() {
        assert_eq!(refusal("select 1", false), None);
        assert_eq!(refusal("/* hi */ (SELECT 1)", false), None);
        assert_eq!(refusal("WITH 1 AS a SELECT a", false), None);
        let insert = refusal("INSERT INTO t VALUES (1)", false).unwrap_or_default();
        assert!(insert.contains("read-only"), "{insert}");
        // Not a known change: the server (told read-only) decides.
        assert_eq!(refusal("SELEC 1", false), None);
        assert_eq!(refusal("CHECK TABLE t", false), None);
        assert_eq!(refusal("SELECT 1 AS format", false), None);
        assert_eq!(refusal("SELECT t.format FROM t", false), None);
        assert!(refusal("SELECT 1 format TSV", false).is_some());
        assert_eq!(refusal("INSERT INTO t VALUES (1)", true), None);
        assert!(refusal("ALTER TABLE t DELETE WHERE 1", false).is_some());
        assert!(refusal("SELECT 1 FORMAT JSON", false).is_some());
        assert!(refusal("SELECT 'FORMAT JSON'", false).is_none());
        assert!(refusal("-- nothing", false).is_some());
    }

    #[test]
    fn the_word_before_the_cursor_is_found() {
        assert_eq!(word_before("SELECT sta", 10), (7, "sta"));
        assert_eq!(word_before("FROM db.tab", 11), (5, "db.tab"));
        assert_eq!(word_before("x ", 2), (2, ""));
        assert_eq!(word_before("é", 1), (1, ""));
    }
}
