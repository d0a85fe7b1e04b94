//! A strict, allocation-free JSON reader for JOSE headers and JWT claims.
//!
//! A general JSON library builds values we never look at. The verdict needs
//! only a handful of top-level members, but it needs the whole text to be
//! strictly valid: RFC 8259 grammar, UTF-8, no lone surrogates, bounded
//! nesting, and no duplicate member names in any object (RFC 7515 §5.2 lets
//! a parser reject them, and accepting them invites parser-differential
//! attacks where two libraries read different claims from one token).
//!
//! [`Reader::read_object`] validates a document whose top level is an object
//! and hands each top-level member to a callback as a borrowed [`Value`].
//! Its scratch space lives in the [`Reader`], so a worker that keeps one
//! reader allocates nothing per token once warmed up.

use std::borrow::Cow;
use std::fmt;

/// Objects and arrays nested deeper than this are rejected.
pub const MAX_DEPTH: usize = 64;

/// Documents longer than this are rejected: positions in them are kept as
/// `u32`. A token would need a line of about 5.7 GB to reach it.
pub const MAX_LEN: usize = u32::MAX as usize;

/// Objects with more members than this are checked for duplicates by
/// sorting; smaller ones by comparing each pair, which is faster there.
const PAIRWISE_LIMIT: usize = 16;

/// Why a text is not acceptable JSON for us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonError {
    /// The top level is valid JSON but not an object.
    NotAnObject,
    /// The grammar is broken at this byte offset.
    Syntax(usize),
    /// A string holds invalid UTF-8, a control character or a lone
    /// surrogate escape.
    BadString(usize),
    /// An object repeats a member name.
    DuplicateMember,
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep,
    /// Longer than [`MAX_LEN`] bytes.
    TooLong,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::NotAnObject => f.write_str("not a JSON object"),
            JsonError::Syntax(at) => write!(f, "invalid JSON at byte {at}"),
            JsonError::BadString(at) => write!(f, "invalid JSON string at byte {at}"),
            JsonError::DuplicateMember => f.write_str("duplicate member name"),
            JsonError::TooDeep => write!(f, "nested deeper than {MAX_DEPTH}"),
            JsonError::TooLong => write!(f, "longer than {MAX_LEN} bytes"),
        }
    }
}

/// The JSON type of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `{…}`
    Object,
    /// `[…]`
    Array,
    /// `"…"`
    String,
    /// A number.
    Number,
    /// `true` or `false`.
    Bool,
    /// `null`.
    Null,
}

/// A validated value, borrowed from the document.
#[derive(Clone, Copy, Debug)]
pub struct Value<'a> {
    /// Its JSON type.
    pub kind: Kind,
    /// Its exact text; for strings, the content between the quotes, still
    /// escaped, and valid UTF-8 (the reader checked it). Private, so that
    /// [`Value::as_str`] may rely on that.
    raw: &'a [u8],
    /// For strings: whether the content has escapes to undo.
    escaped: bool,
    /// For numbers that are plain integers of up to 15 digits (nearly
    /// every NumericDate): the value, worked out while the digits were
    /// read, so [`Value::as_f64`] need not read them again.
    small_int: Option<f64>,
}

impl<'a> Value<'a> {
    /// Its exact text; for strings, the content between the quotes, still
    /// escaped.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The string's content with escapes undone, or `None` if not a string.
    /// Borrows when the text has no escapes.
    pub fn as_str(&self) -> Option<Cow<'a, str>> {
        if self.kind != Kind::String {
            return None;
        }
        if !self.escaped {
            // SAFETY: values are made only by the reader, which checked a
            // string's content to be UTF-8 (`Parser::string`: pure ASCII,
            // or `from_utf8` passed), and `raw` cannot be changed from
            // outside this module. Checking again took 1.6% of a scan.
            return Some(Cow::Borrowed(unsafe {
                std::str::from_utf8_unchecked(self.raw)
            }));
        }
        let mut out = Vec::with_capacity(self.raw.len());
        unescape(self.raw, &mut out).ok()?;
        String::from_utf8(out).ok().map(Cow::Owned)
    }

    /// The number's value, or `None` if not a number. Huge magnitudes
    /// become infinities, so comparisons never overflow.
    pub fn as_f64(&self) -> Option<f64> {
        if self.kind != Kind::Number {
            return None;
        }
        if self.small_int.is_some() {
            return self.small_int;
        }
        // NumericDates are nearly always plain integers: up to 15 digits
        // convert exactly through an integer, at a fraction of the cost of
        // the general decimal parser.
        let (negative, digits) = match self.raw.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, self.raw),
        };
        if digits.len() <= 15 && digits.iter().all(u8::is_ascii_digit) {
            let n = digits.iter().fold(0i64, |n, &d| n * 10 + (d - b'0') as i64);
            return Some(if negative { -(n as f64) } else { n as f64 });
        }
        std::str::from_utf8(self.raw).ok()?.parse().ok()
    }

    /// For an array: its elements, each a borrowed value. Empty for any
    /// other kind.
    pub fn elements(&self) -> Elements<'a> {
        let inner = match self.kind {
            Kind::Array => &self.raw[1..self.raw.len() - 1],
            _ => &[],
        };
        Elements {
            text: inner,
            pos: 0,
        }
    }
}

/// The elements of an already validated array, see [`Value::elements`].
pub struct Elements<'a> {
    text: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Elements<'a> {
    type Item = Value<'a>;

    fn next(&mut self) -> Option<Value<'a>> {
        let mut scratch = Scratch::default();
        let mut parser = Parser {
            text: self.text,
            pos: self.pos,
            scratch: &mut scratch,
        };
        parser.skip_ws();
        if parser.pos >= self.text.len() {
            return None;
        }
        if self.text[parser.pos] == b',' {
            parser.pos += 1;
        }
        // The array was validated, so this cannot fail; stop if it does.
        let value = parser.value(1).ok()?;
        self.pos = parser.pos;
        Some(value)
    }
}

/// Member names of the objects currently open, kept to find duplicates.
#[derive(Default)]
struct Scratch {
    /// Unescaped copies of names that had escapes.
    unescaped: Vec<u8>,
    /// One entry per name of every open object.
    names: Vec<NameRef>,
    /// The top-level members of the document being read: each name and
    /// where its value's text starts and ends, for [`Shape::learn`].
    top: Vec<(NameRef, u32, u32)>,
    /// The values a shape match has read so far.
    values: Vec<ValueAt>,
}

/// A value of the document a shape is matched against, by position, so
/// it can wait in [`Scratch`] until the whole shape has matched.
#[derive(Clone, Copy)]
struct ValueAt {
    kind: Kind,
    start: u32,
    end: u32,
    escaped: bool,
    small_int: Option<f64>,
}

/// The shape of an object read before: its text with the top-level
/// values cut out.
///
/// Tokens from one issuer carry the same claim names in the same order
/// with the same spacing; only the values change. A document that holds
/// the shape's text between its values (the literals: braces, member
/// names, colons, commas and spacing, compared byte for byte) and whose
/// values each read as JSON at those places is exactly what the full
/// reader would make of it: the same members, by the same names, in the
/// same order, and no duplicates, since the shape had none. Values are
/// still read and validated in full. Matching skips reading names,
/// spacing and separators and the duplicate check: reading claims this
/// way took about a third of the full reader's time.
#[derive(Default)]
struct Shape {
    /// The document the shape was learnt from.
    text: Vec<u8>,
    /// Per member: where the literal before its value is in `text`, and
    /// where its unescaped name is in `names`.
    members: Vec<ShapeMember>,
    /// Unescaped member names, back to back.
    names: Vec<u8>,
    /// Where the literal after the last value starts in `text`.
    tail: u32,
}

#[derive(Clone, Copy)]
struct ShapeMember {
    literal: (u32, u32),
    name: (u32, u32),
}

/// Shapes a reader remembers, most recently matched first.
const MAX_SHAPES: usize = 4;

/// Objects with more members than this are not remembered as shapes.
const MAX_SHAPE_MEMBERS: usize = 32;

impl Shape {
    /// Remembers the shape of `text`, just read without fault, whose top
    /// members are in `scratch.top`.
    fn learn(&mut self, text: &[u8], scratch: &Scratch) {
        self.text.clear();
        self.text.extend_from_slice(text);
        self.members.clear();
        self.names.clear();
        let mut literal_start = 0;
        for &(name, value_start, value_end) in &scratch.top {
            let bytes = name_bytes(text, scratch, name);
            let at = self.names.len() as u32;
            self.names.extend_from_slice(bytes);
            self.members.push(ShapeMember {
                literal: (literal_start, value_start),
                name: (at, self.names.len() as u32),
            });
            literal_start = value_end;
        }
        self.tail = literal_start;
    }

    /// Reads `text` as this shape: `Some(Ok(()))` when it matched, with
    /// its values in `parser.scratch.values`; `Some(Err(_))` when the
    /// literals matched up to a value the full reader would reject in
    /// the same way; `None` when a literal differs.
    fn read(&self, parser: &mut Parser<'_, '_>) -> Option<Result<(), JsonError>> {
        parser.scratch.values.clear();
        for member in &self.members {
            let (from, to) = member.literal;
            let literal = &self.text[from as usize..to as usize];
            if !crate::bytes::starts_with(&parser.text[parser.pos..], literal) {
                return None;
            }
            parser.pos += literal.len();
            let start = parser.pos;
            let value = match parser.scalar() {
                Ok(value) => value,
                Err(e) => return Some(Err(e)),
            };
            let base = parser.text.as_ptr() as usize;
            let raw_start = value.raw.as_ptr() as usize - base;
            debug_assert!(raw_start >= start);
            parser.scratch.values.push(ValueAt {
                kind: value.kind,
                start: raw_start as u32,
                end: (raw_start + value.raw.len()) as u32,
                escaped: value.escaped,
                small_int: value.small_int,
            });
        }
        let tail = &self.text[self.tail as usize..];
        if parser.text[parser.pos..] != *tail {
            return None;
        }
        parser.pos = parser.text.len();
        Some(Ok(()))
    }
}

/// Where a member name's bytes are: in the text, or in `Scratch::unescaped`.
#[derive(Clone, Copy)]
struct NameRef {
    start: u32,
    end: u32,
    in_scratch: bool,
    /// The length and first bytes, packed: names whose tags differ differ,
    /// so most pairs are told apart without a `memcmp` call (which took 5%
    /// of a scan when every claim name has three letters).
    tag: u64,
}

/// The tag of a name: its length and first seven bytes. Built in a
/// register: copying the bytes into an array and reading it back as a u64
/// stalled store forwarding and made this a third of the object parser.
fn tag(name: &[u8]) -> u64 {
    name.iter()
        .take(7)
        .enumerate()
        .fold(name.len().min(255) as u64, |tag, (i, &b)| {
            tag | (b as u64) << (8 * (i + 1))
        })
}

/// A reusable strict reader; keep one per worker.
#[derive(Default)]
pub struct Reader {
    scratch: Scratch,
    /// Shapes of objects read before, most recently matched first.
    shapes: Vec<Shape>,
}

impl Reader {
    /// A reader with empty scratch space.
    pub fn new() -> Reader {
        Reader::default()
    }

    /// Validates `text` as a JSON object and calls `member(name, value)` for
    /// each top-level member in order. Names are passed unescaped.
    ///
    /// On error the callback may already have seen some members; callers
    /// discard what they collected.
    pub fn read_object<'a, F>(&mut self, text: &'a [u8], mut member: F) -> Result<(), JsonError>
    where
        F: FnMut(&[u8], Value<'a>),
    {
        // positions are kept as `u32`
        if text.len() > MAX_LEN {
            return Err(JsonError::TooLong);
        }
        self.scratch.unescaped.clear();
        self.scratch.names.clear();
        self.scratch.top.clear();
        let mut parser = Parser {
            text,
            pos: 0,
            scratch: &mut self.scratch,
        };

        // a shape seen before, if one fits
        for i in 0..self.shapes.len() {
            parser.pos = 0;
            match self.shapes[i].read(&mut parser) {
                None => continue,
                Some(Err(e)) => return Err(e),
                Some(Ok(())) => {}
            }
            let shape = &self.shapes[i];
            for (m, v) in shape.members.iter().zip(&parser.scratch.values) {
                let name = &shape.names[m.name.0 as usize..m.name.1 as usize];
                member(name, v.value(text));
            }
            self.shapes[..=i].rotate_right(1);
            return Ok(());
        }
        parser.pos = 0;

        parser.skip_ws();
        if parser.peek() != Some(b'{') {
            // Distinguish "valid but not an object" for a clearer reason.
            return match parser.value(0) {
                Ok(_) if parser.at_end_after_ws() => Err(JsonError::NotAnObject),
                Ok(_) => Err(JsonError::Syntax(parser.pos)),
                Err(e) => Err(e),
            };
        }
        parser.object(0, &mut member)?;
        if !parser.at_end_after_ws() {
            return Err(JsonError::Syntax(parser.pos));
        }

        // remember this shape, in place of the one matched least recently
        if self.scratch.top.len() <= MAX_SHAPE_MEMBERS {
            if self.shapes.len() < MAX_SHAPES {
                self.shapes.push(Shape::default());
            }
            self.shapes.rotate_right(1);
            self.shapes[0].learn(text, &self.scratch);
        }
        Ok(())
    }
}

impl ValueAt {
    fn value<'a>(&self, text: &'a [u8]) -> Value<'a> {
        Value {
            kind: self.kind,
            raw: &text[self.start as usize..self.end as usize],
            escaped: self.escaped,
            small_int: self.small_int,
        }
    }
}

struct Parser<'a, 's> {
    text: &'a [u8],
    pos: usize,
    scratch: &'s mut Scratch,
}

impl<'a> Parser<'a, '_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn at_end_after_ws(&mut self) -> bool {
        self.skip_ws();
        self.pos == self.text.len()
    }

    fn expect(&mut self, byte: u8) -> Result<(), JsonError> {
        self.skip_ws();
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(JsonError::Syntax(self.pos))
        }
    }

    /// A top-level member's value where it starts right here, as
    /// [`Parser::value`] reads it, with strings and numbers (the values of
    /// nearly every claim) read without the dispatch.
    fn scalar(&mut self) -> Result<Value<'a>, JsonError> {
        match self.peek() {
            Some(b'"') => {
                let (raw, escaped) = self.string()?;
                Ok(Value {
                    kind: Kind::String,
                    raw,
                    escaped,
                    small_int: None,
                })
            }
            Some(b'0'..=b'9') => {
                let start = self.pos;
                let small_int = self.number()?;
                Ok(Value {
                    kind: Kind::Number,
                    raw: &self.text[start..self.pos],
                    escaped: false,
                    small_int,
                })
            }
            _ => self.value(1),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>, JsonError> {
        self.skip_ws();
        let start = self.pos;
        let kind = match self.peek() {
            Some(b'{') => {
                self.object(depth, &mut |_: &[u8], _| {})?;
                Kind::Object
            }
            Some(b'[') => {
                self.array(depth)?;
                Kind::Array
            }
            Some(b'"') => {
                let (raw, escaped) = self.string()?;
                return Ok(Value {
                    kind: Kind::String,
                    raw,
                    escaped,
                    small_int: None,
                });
            }
            Some(b't') => self.literal(b"true", Kind::Bool)?,
            Some(b'f') => self.literal(b"false", Kind::Bool)?,
            Some(b'n') => self.literal(b"null", Kind::Null)?,
            Some(b'-' | b'0'..=b'9') => {
                let small_int = self.number()?;
                return Ok(Value {
                    kind: Kind::Number,
                    raw: &self.text[start..self.pos],
                    escaped: false,
                    small_int,
                });
            }
            _ => return Err(JsonError::Syntax(self.pos)),
        };
        Ok(Value {
            kind,
            raw: &self.text[start..self.pos],
            escaped: false,
            small_int: None,
        })
    }

    fn literal(&mut self, word: &[u8], kind: Kind) -> Result<Kind, JsonError> {
        if self.text[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(kind)
        } else {
            Err(JsonError::Syntax(self.pos))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`; returns the value
    /// of a plain integer of up to 15 digits.
    fn number(&mut self) -> Result<Option<f64>, JsonError> {
        let text = self.text;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        // the integer part, valued as its digits are read (a second pass
        // over them made numbers a third of reading a claim set)
        let int_start = self.pos;
        let mut n: u64 = 0;
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while let Some(&d) = text.get(self.pos) {
                    let digit = d.wrapping_sub(b'0');
                    if digit > 9 {
                        break;
                    }
                    n = n.wrapping_mul(10).wrapping_add(u64::from(digit));
                    self.pos += 1;
                }
            }
            _ => return Err(JsonError::Syntax(self.pos)),
        }
        let int_digits = self.pos - int_start;
        if int_digits <= 15 && !matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            // up to 15 digits, `n` is exact and below 2^53
            return Ok(Some(if negative { -(n as f64) } else { n as f64 }));
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(JsonError::Syntax(self.pos));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(JsonError::Syntax(self.pos));
            }
        }
        Ok(None)
    }

    /// Reads a string at `"`; returns its raw content and whether it has
    /// escapes. Checks control characters, escapes, surrogates and UTF-8.
    fn string(&mut self) -> Result<(&'a [u8], bool), JsonError> {
        let open = self.pos;
        self.pos += 1;
        let start = self.pos;
        let mut escaped = false;
        let mut non_ascii = false;
        loop {
            let (stop, high) = string_stop(&self.text[self.pos..]);
            non_ascii |= high;
            let Some(hit) = stop else {
                return Err(JsonError::Syntax(self.text.len()));
            };
            self.pos += hit;
            match self.text[self.pos] {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.escape()?;
                }
                _ => return Err(JsonError::BadString(self.pos)),
            }
        }
        let raw = &self.text[start..self.pos];
        self.pos += 1;
        // Pure ASCII is valid UTF-8; validating every string took 5% of a
        // scan, and claims are nearly always ASCII.
        if non_ascii && std::str::from_utf8(raw).is_err() {
            return Err(JsonError::BadString(open));
        }
        Ok((raw, escaped))
    }

    /// Validates one escape at `\`, including surrogate pairing.
    fn escape(&mut self) -> Result<(), JsonError> {
        let at = self.pos;
        match self.text.get(self.pos + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                self.pos += 2;
                Ok(())
            }
            Some(b'u') => {
                let unit = hex4(self.text, self.pos + 2).ok_or(JsonError::BadString(at))?;
                self.pos += 6;
                match unit {
                    0xD800..=0xDBFF => {
                        // A high surrogate must be followed by a low one.
                        let low = match self.text.get(self.pos..self.pos + 2) {
                            Some(b"\\u") => hex4(self.text, self.pos + 2),
                            _ => None,
                        };
                        match low {
                            Some(0xDC00..=0xDFFF) => {
                                self.pos += 6;
                                Ok(())
                            }
                            _ => Err(JsonError::BadString(at)),
                        }
                    }
                    0xDC00..=0xDFFF => Err(JsonError::BadString(at)),
                    _ => Ok(()),
                }
            }
            _ => Err(JsonError::BadString(at)),
        }
    }

    fn array(&mut self, depth: usize) -> Result<(), JsonError> {
        if depth >= MAX_DEPTH {
            return Err(JsonError::TooDeep);
        }
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.value(depth + 1)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(JsonError::Syntax(self.pos)),
            }
        }
    }

    /// Reads an object at `{`, calling `member` for each of its members.
    /// Generic, so the top level's callback is inlined into the loop (a
    /// `dyn` callback cost an indirect call per member); nested objects
    /// share one instance with a callback that does nothing.
    fn object<F>(&mut self, depth: usize, member: &mut F) -> Result<(), JsonError>
    where
        F: FnMut(&[u8], Value<'a>),
    {
        if depth >= MAX_DEPTH {
            return Err(JsonError::TooDeep);
        }
        self.pos += 1;
        let first_name = self.scratch.names.len();
        let first_byte = self.scratch.unescaped.len();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            // name
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(JsonError::Syntax(self.pos));
            }
            let (raw, escaped) = self.string()?;
            let name = self.remember_name(raw, escaped)?;

            // value
            self.expect(b':')?;
            self.skip_ws();
            let value_start = self.pos;
            let value = self.value(depth + 1)?;
            if depth == 0 {
                let at = (name, value_start as u32, self.pos as u32);
                self.scratch.top.push(at);
            }
            member(self.name_bytes(name), value);

            // separator
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(JsonError::Syntax(self.pos)),
            }
        }
        let dup = self.has_duplicates(first_name);
        self.scratch.names.truncate(first_name);
        // the top level's unescaped names stay for `Shape::learn`
        if depth > 0 {
            self.scratch.unescaped.truncate(first_byte);
        }
        if dup {
            return Err(JsonError::DuplicateMember);
        }
        Ok(())
    }

    fn remember_name(&mut self, raw: &'a [u8], escaped: bool) -> Result<NameRef, JsonError> {
        let name = if escaped {
            let start = self.scratch.unescaped.len();
            unescape(raw, &mut self.scratch.unescaped)
                .map_err(|_| JsonError::BadString(self.pos))?;
            let end = self.scratch.unescaped.len();
            let tag = tag(&self.scratch.unescaped[start..end]);
            NameRef {
                start: start as u32,
                end: end as u32,
                in_scratch: true,
                tag,
            }
        } else {
            let start = raw.as_ptr() as usize - self.text.as_ptr() as usize;
            let end = start + raw.len();
            NameRef {
                start: start as u32,
                end: end as u32,
                in_scratch: false,
                tag: tag(raw),
            }
        };
        self.scratch.names.push(name);
        Ok(name)
    }

    fn name_bytes(&self, name: NameRef) -> &[u8] {
        name_bytes(self.text, self.scratch, name)
    }

    fn has_duplicates(&mut self, first: usize) -> bool {
        let text = self.text;
        let scratch = &mut *self.scratch;
        let count = scratch.names.len() - first;
        if count <= PAIRWISE_LIMIT {
            let names = &scratch.names[first..];
            let same = |a: &NameRef, b: &NameRef| {
                a.tag == b.tag && name_bytes(text, scratch, *a) == name_bytes(text, scratch, *b)
            };
            return names
                .iter()
                .enumerate()
                .any(|(i, a)| names[i + 1..].iter().any(|b| same(a, b)));
        }
        let mut names = scratch.names.split_off(first);
        names.sort_unstable_by(|a, b| {
            name_bytes(text, scratch, *a).cmp(name_bytes(text, scratch, *b))
        });
        let dup = names
            .windows(2)
            .any(|w| name_bytes(text, scratch, w[0]) == name_bytes(text, scratch, w[1]));
        scratch.names.extend_from_slice(&names);
        dup
    }
}

fn name_bytes<'t>(text: &'t [u8], scratch: &'t Scratch, name: NameRef) -> &'t [u8] {
    let range = name.start as usize..name.end as usize;
    if name.in_scratch {
        &scratch.unescaped[range]
    } else {
        &text[range]
    }
}

/// Where the plain content at the start of a string ends: the first `"`,
/// `\\` or control character in `text`, if any; and whether a byte before
/// it (or, harmlessly, in the same eight) is non-ASCII.
///
/// Member names and claim values are short, so this looks at eight bytes
/// at a time in a register (SWAR) rather than calling memchr, whose setup
/// cost more than the search; one pass finds all three stops at once
/// where a memchr2 and a min/max fold made two. With `LO` = 0x01 in each
/// byte and `HI` = 0x80, `(v - LO) & !v & HI` flags the zero bytes of `v`
/// and `(x - 0x20 * LO) & !x & HI` the bytes below 0x20; a borrow can
/// flag a byte above a flagged one, never below, so the lowest flag is
/// exact.
fn string_stop(text: &[u8]) -> (Option<usize>, bool) {
    // 16 bytes at a time where SSE2 is (every x86_64), then words
    #[cfg(target_arch = "x86_64")]
    {
        let mut high = false;
        let mut at = 0;
        while at + 16 <= text.len() {
            // SAFETY: the 16 bytes at `at` are in bounds.
            let (stops, highs) = unsafe { sse2_stops(text.as_ptr().add(at)) };
            if stops != 0 {
                let k = stops.trailing_zeros();
                high |= highs & ((1 << k) - 1) != 0;
                return (Some(at + k as usize), high);
            }
            high |= highs != 0;
            at += 16;
        }
        let (stop, rest_high) = string_stop_words(&text[at..]);
        (stop.map(|k| at + k), high | rest_high)
    }
    #[cfg(not(target_arch = "x86_64"))]
    string_stop_words(text)
}

/// The stops (`"`, `\\`, bytes below 0x20) and the non-ASCII bytes of
/// the 16 bytes at `p`, as bit masks.
///
/// # Safety
/// `p` must point at 16 readable bytes. (SSE2 is part of every x86_64
/// target; without a `target_feature` attribute this inlines.)
#[cfg(target_arch = "x86_64")]
#[inline]
unsafe fn sse2_stops(p: *const u8) -> (u32, u32) {
    use std::arch::x86_64::*;
    // SAFETY: the caller vouches for 16 readable bytes.
    let v = unsafe { _mm_loadu_si128(p.cast()) };
    let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
    let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
    // unsigned v <= 0x1f: the maximum of v and 0x1f is 0x1f
    let low = _mm_set1_epi8(0x1f);
    let control = _mm_cmpeq_epi8(_mm_max_epu8(v, low), low);
    let stops = _mm_or_si128(_mm_or_si128(quote, backslash), control);
    (_mm_movemask_epi8(stops) as u32, _mm_movemask_epi8(v) as u32)
}

/// [`string_stop`] eight bytes at a time.
fn string_stop_words(text: &[u8]) -> (Option<usize>, bool) {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let zero = |v: u64| v.wrapping_sub(LO) & !v & HI;
    let mut high = 0;
    let mut words = text.chunks_exact(8);
    for (i, word) in words.by_ref().enumerate() {
        let x = u64::from_le_bytes(word.try_into().unwrap_or_default());
        high |= x & HI;
        let stop = zero(x ^ (LO * b'"' as u64))
            | zero(x ^ (LO * b'\\' as u64))
            | (x.wrapping_sub(LO * 0x20) & !x & HI);
        if stop != 0 {
            return (Some(i * 8 + stop.trailing_zeros() as usize / 8), high != 0);
        }
    }
    let done = text.len() - words.remainder().len();
    for (i, &b) in words.remainder().iter().enumerate() {
        if b == b'"' || b == b'\\' || b < 0x20 {
            return (Some(done + i), high != 0);
        }
        high |= (b & 0x80) as u64;
    }
    (None, high != 0)
}

/// Four hex digits at `at`, as a UTF-16 code unit.
fn hex4(text: &[u8], at: usize) -> Option<u32> {
    let digits = text.get(at..at + 4)?;
    let mut unit = 0;
    for &d in digits {
        unit = unit * 16 + (d as char).to_digit(16)?;
    }
    Some(unit)
}

/// Undoes the escapes of validated string content, appending UTF-8 to `out`.
fn unescape(raw: &[u8], out: &mut Vec<u8>) -> Result<(), ()> {
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let simple = match raw.get(i + 1).ok_or(())? {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => 0,
            _ => return Err(()),
        };
        if simple != 0 {
            out.push(simple);
            i += 2;
            continue;
        }
        let unit = hex4(raw, i + 2).ok_or(())?;
        i += 6;
        let code = if (0xD800..=0xDBFF).contains(&unit) {
            let low = hex4(raw, i + 2).ok_or(())?;
            i += 6;
            0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
        } else {
            unit
        };
        let ch = char::from_u32(code).ok_or(())?;
        let mut buf = [0; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_past_the_position_range_are_refused_unread() {
        // an anonymous mapping is not backed until touched, so this holds
        // no memory: the length alone decides
        let Ok(map) = memmap2::MmapMut::map_anon(MAX_LEN + 1) else {
            eprintln!("no 4 GiB mapping here: length guard not tested");
            return;
        };
        let mut calls = 0;
        let read = Reader::new().read_object(&map, |_, _| calls += 1);
        assert_eq!(read, Err(JsonError::TooLong));
        assert_eq!(calls, 0);
    }

    #[test]
    fn string_stop_agrees_with_a_plain_loop() {
        // every byte value at every position of every length up to 24,
        // over backgrounds of ASCII and of non-ASCII bytes
        for len in 0..24 {
            for background in [b'a', 0xC3, 0x7F, 0x21] {
                for at in 0..len.max(1) {
                    for b in 0..=255u8 {
                        let mut text = vec![background; len];
                        if len > 0 {
                            text[at] = b;
                        }
                        let stop = text
                            .iter()
                            .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
                        let high = text[..stop.unwrap_or(len)].iter().any(|&b| b >= 0x80);
                        let (got, got_high) = string_stop(&text);
                        assert_eq!(got, stop, "{text:?}");
                        // non-ASCII after the stop may be flagged too
                        assert!(got_high >= high, "{text:?}");
                    }
                }
            }
        }
    }

    fn members(text: &str) -> Result<Vec<(String, Kind, String)>, JsonError> {
        let mut out = Vec::new();
        Reader::new().read_object(text.as_bytes(), |name, value| {
            out.push((
                String::from_utf8(name.to_vec()).unwrap(),
                value.kind,
                String::from_utf8(value.raw.to_vec()).unwrap(),
            ))
        })?;
        Ok(out)
    }

    type Members = Result<Vec<(Vec<u8>, Kind, Vec<u8>)>, JsonError>;

    /// Members as a fresh reader (no shapes) and as `warm`, a reader
    /// that has read other documents, see them.
    fn both_ways(warm: &mut Reader, text: &[u8]) -> [Members; 2] {
        let read = |reader: &mut Reader| {
            let mut out = Vec::new();
            reader
                .read_object(text, |name, v| {
                    out.push((name.to_vec(), v.kind, v.raw.to_vec()))
                })
                .map(|()| out)
        };
        [read(&mut Reader::new()), read(warm)]
    }

    #[test]
    fn shapes_read_exactly_as_the_full_reader() {
        let base = br#"{"iss":"a","sub":"u1","aud":["x"],"exp":1,"o":{"k":1},"e\u0078t":null}"#;
        let mut warm = Reader::new();
        let mut docs: Vec<Vec<u8>> = vec![
            base.to_vec(),
            [
                &br#"{"iss":"b\"c","sub":"\u00e9t"#[..],
                b"\xc3\xa9",
                br#"","aud":"y","exp":-2.5e3,"o":[],"e\u0078t":true}"#,
            ]
            .concat(),
            br#"{"iss":"a","sub":"u1","aud":["x"],"exp":1,"o":{"k":1,"k":2},"e\u0078t":null}"#
                .to_vec(),
            [
                &br#"{"iss":"a","sub":""#[..],
                b"\xff",
                br#"","aud":["x"],"exp":1,"o":{},"e\u0078t":null}"#,
            ]
            .concat(),
            br#"{"iss":"a","sub":"u1","aud":["x"],"exp":01,"o":{},"e\u0078t":null}"#.to_vec(),
            br#"{"iss":"a","iss":"u1","aud":["x"],"exp":1,"o":{},"e\u0078t":null}"#.to_vec(),
            br#"{"iss":"a","sub":"u1","aud":["x"],"exp":1,"o":{},"e\u0078t":null,"ext":1}"#
                .to_vec(),
            br#"{"iss":"a","sub":"u1","aud":["x"],"exp":1,"o":{},"e\u0078t":null} "#.to_vec(),
            br#"{"iss":"a","sub":"u1","aud":["x"],"exp":1,"o":{},"e\u0078t":nul}"#.to_vec(),
            br#"{"iss":"a","sub":"u1","aud":["x"],"exp":1,"o":{},"e\u0078t":null}}"#.to_vec(),
            br#"{"iss":"a","sub":"u1","aud":["x"],"exp":1 ,"o":{},"e\u0078t":null}"#.to_vec(),
            format!(
                r#"{{"iss":"a","sub":"u1","aud":{}1{},"exp":1,"o":{{}},"e\u0078t":null}}"#,
                "[".repeat(MAX_DEPTH),
                "]".repeat(MAX_DEPTH)
            )
            .into_bytes(),
            b"{}".to_vec(),
        ];
        // every single-byte change of the base document, a few bytes each
        for at in 0..base.len() {
            for b in [b'"', b'\\', b',', b'}', b'1', b' ', 0x80, b'a'] {
                let mut doc = base.to_vec();
                doc[at] = b;
                docs.push(doc);
            }
        }
        for doc in &docs {
            // the base first, so the warm reader knows its shape
            let _ = both_ways(&mut warm, base);
            let [cold, warmed] = both_ways(&mut warm, doc);
            assert_eq!(cold, warmed, "{}", String::from_utf8_lossy(doc));
        }
        // and documents in turn, each the other's shape
        for pair in docs.windows(2) {
            let _ = both_ways(&mut warm, &pair[0]);
            let [cold, warmed] = both_ways(&mut warm, &pair[1]);
            assert_eq!(cold, warmed, "{}", String::from_utf8_lossy(&pair[1]));
        }
    }

    #[test]
    fn reads_top_level_members() {
        let got = members(r#" {"alg":"HS256", "n":-1.5e3, "o":{"a":[1,2]}, "b":true} "#).unwrap();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0], ("alg".into(), Kind::String, "HS256".into()));
        assert_eq!(got[1], ("n".into(), Kind::Number, "-1.5e3".into()));
        assert_eq!(got[2], ("o".into(), Kind::Object, r#"{"a":[1,2]}"#.into()));
        assert_eq!(got[3].1, Kind::Bool);
    }

    #[test]
    fn rejects_duplicates_at_any_depth_and_after_unescaping() {
        assert_eq!(members(r#"{"a":1,"a":2}"#), Err(JsonError::DuplicateMember));
        assert_eq!(
            members(r#"{"exp":1,"e\u0078p":2}"#),
            Err(JsonError::DuplicateMember)
        );
        assert_eq!(
            members(r#"{"o":{"x":1,"x":1}}"#),
            Err(JsonError::DuplicateMember)
        );
        // Same name in sibling objects is fine.
        assert!(members(r#"{"a":{"x":1},"b":{"x":1}}"#).is_ok());
        // The sorted path for large objects.
        let many: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        assert!(members(&format!("{{{}}}", many.join(","))).is_ok());
        let dup = format!("{{{},\"k7\":0}}", many.join(","));
        assert_eq!(members(&dup), Err(JsonError::DuplicateMember));
    }

    #[test]
    fn rejects_bad_grammar() {
        for bad in [
            "",
            "{",
            "{}x",
            r#"{"a"}"#,
            r#"{"a":}"#,
            r#"{"a":1,}"#,
            r#"{a:1}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":.5}"#,
            r#"{"a":1e}"#,
            r#"{"a":tru}"#,
            r#"{"a":[1,]}"#,
            r#"{"a":"x"#,
            "{'a':1}",
            r#"{"a":+1}"#,
            r#"{"a":NaN}"#,
        ] {
            assert!(members(bad).is_err(), "accepted {bad:?}");
        }
        assert_eq!(members("[1]"), Err(JsonError::NotAnObject));
        assert_eq!(members("\"s\""), Err(JsonError::NotAnObject));
    }

    #[test]
    fn rejects_bad_strings() {
        assert!(matches!(
            members("{\"a\":\"x\ty\"}"),
            Err(JsonError::BadString(_))
        ));
        assert!(matches!(
            members(r#"{"a":"\ud800"}"#),
            Err(JsonError::BadString(_))
        ));
        assert!(matches!(
            members(r#"{"a":"\udc00\ud800"}"#),
            Err(JsonError::BadString(_))
        ));
        assert!(matches!(
            members(r#"{"a":"\x"}"#),
            Err(JsonError::BadString(_))
        ));
        let mut r = Reader::new();
        assert!(r.read_object(b"{\"a\":\"\xff\"}", |_, _| {}).is_err());
        assert!(members(r#"{"a":"\ud83d\ude00 ok"}"#).is_ok());
    }

    #[test]
    fn limits_depth() {
        let deep = format!(
            "{{\"a\":{}1{}}}",
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        );
        assert_eq!(members(&deep), Err(JsonError::TooDeep));
        let ok = format!("{{\"a\":{}1{}}}", "[".repeat(10), "]".repeat(10));
        assert!(members(&ok).is_ok());
    }

    #[test]
    fn integer_fast_path_matches_the_decimal_parser() {
        for text in [
            "0",
            "-0",
            "7",
            "-7",
            "1796292000",
            "999999999999999",
            "-999999999999999",
            "1234567890123456",
            "12345678901234567890",
            "1e3",
            "-12.5",
            "1.0",
            "0.1",
        ] {
            let doc = format!("{{\"n\":{text}}}");
            let mut got = None;
            Reader::new()
                .read_object(doc.as_bytes(), |_, v| got = v.as_f64())
                .unwrap();
            let want: f64 = text.parse().unwrap();
            assert_eq!(got.map(f64::to_bits), Some(want.to_bits()), "{text}");
        }
    }

    #[test]
    fn values_convert() {
        let mut got = Vec::new();
        let text = br#"{"s":"a\"b\u00e9","n":1e400,"arr":["x", "y\n"],"m":-3}"#;
        Reader::new()
            .read_object(text, |name, v| got.push((name.to_vec(), v)))
            .unwrap();
        assert_eq!(got[0].1.as_str().unwrap(), "a\"bé");
        assert_eq!(got[1].1.as_f64(), Some(f64::INFINITY));
        let items: Vec<String> = got[2]
            .1
            .elements()
            .map(|v| v.as_str().unwrap().into_owned())
            .collect();
        assert_eq!(items, ["x", "y\n"]);
        assert_eq!(got[3].1.as_f64(), Some(-3.0));
        assert_eq!(got[3].1.as_str(), None);
    }
}
