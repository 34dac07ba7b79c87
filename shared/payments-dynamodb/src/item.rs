//! Typed reading and writing of DynamoDB attribute values, so the entity mappings read like field lists
//! and every malformed attribute becomes [`DynamoError::MalformedItem`] naming the attribute.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::error::DynamoError;

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// Reads the attributes of one item of a known kind.
pub struct Reader<'a> {
    item_type: &'static str,
    item: &'a Item,
}

impl<'a> Reader<'a> {
    /// A reader of `item`, which the caller expects to be of kind `item_type`.
    pub fn new(item_type: &'static str, item: &'a Item) -> Self {
        Self { item_type, item }
    }

    /// The error for attribute `name`.
    pub fn malformed(&self, name: &str, problem: impl Into<String>) -> DynamoError {
        DynamoError::MalformedItem {
            item_type: self.item_type,
            attribute: name.to_owned(),
            problem: problem.into(),
        }
    }

    /// Whether the attribute is present (and not NULL).
    pub fn has(&self, name: &str) -> bool {
        !matches!(self.item.get(name), None | Some(AttributeValue::Null(_)))
    }

    /// A required string attribute.
    pub fn string(&self, name: &str) -> Result<&'a str, DynamoError> {
        match self.item.get(name) {
            Some(AttributeValue::S(value)) => Ok(value),
            Some(_) => Err(self.malformed(name, "is not a string")),
            None => Err(self.malformed(name, "is missing")),
        }
    }

    /// An optional string attribute.
    pub fn opt_string(&self, name: &str) -> Result<Option<&'a str>, DynamoError> {
        if self.has(name) {
            self.string(name).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A required number attribute that fits an `i64`.
    pub fn i64(&self, name: &str) -> Result<i64, DynamoError> {
        match self.item.get(name) {
            Some(AttributeValue::N(value)) => value
                .parse()
                .map_err(|_| self.malformed(name, format!("is not a whole number: {value}"))),
            Some(_) => Err(self.malformed(name, "is not a number")),
            None => Err(self.malformed(name, "is missing")),
        }
    }

    /// An optional number attribute that fits an `i64`.
    pub fn opt_i64(&self, name: &str) -> Result<Option<i64>, DynamoError> {
        if self.has(name) {
            self.i64(name).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A required non-negative number attribute that fits a `u64`.
    pub fn u64(&self, name: &str) -> Result<u64, DynamoError> {
        let value = self.i64(name)?;
        u64::try_from(value).map_err(|_| self.malformed(name, "is negative"))
    }

    /// A required boolean attribute.
    pub fn bool(&self, name: &str) -> Result<bool, DynamoError> {
        match self.item.get(name) {
            Some(AttributeValue::Bool(value)) => Ok(*value),
            Some(_) => Err(self.malformed(name, "is not a boolean")),
            None => Err(self.malformed(name, "is missing")),
        }
    }

    /// A required list attribute whose elements are maps, read with `read` each.
    pub fn list_of_maps<T>(
        &self,
        name: &str,
        mut read: impl FnMut(&Reader<'a>) -> Result<T, DynamoError>,
    ) -> Result<Vec<T>, DynamoError> {
        let list = match self.item.get(name) {
            Some(AttributeValue::L(list)) => list,
            Some(_) => return Err(self.malformed(name, "is not a list")),
            None => return Err(self.malformed(name, "is missing")),
        };
        let mut out = Vec::with_capacity(list.len());
        for (position, element) in list.iter().enumerate() {
            let AttributeValue::M(map) = element else {
                return Err(self.malformed(name, format!("element {position} is not a map")));
            };
            let inner = Reader {
                item_type: self.item_type,
                item: map,
            };
            // A problem inside the element names the attribute by its path from the item.
            out.push(read(&inner).map_err(|mut error| {
                if let DynamoError::MalformedItem { attribute, .. } = &mut error {
                    *attribute = format!("{name}[{position}].{attribute}");
                }
                error
            })?);
        }
        Ok(out)
    }

    /// A required list attribute, each element read by `element` (which says what is wrong with it).
    fn list<T>(
        &self,
        name: &str,
        element: impl Fn(&AttributeValue) -> Result<T, &'static str>,
    ) -> Result<Vec<T>, DynamoError> {
        let list = match self.item.get(name) {
            Some(AttributeValue::L(list)) => list,
            Some(_) => return Err(self.malformed(name, "is not a list")),
            None => return Err(self.malformed(name, "is missing")),
        };
        list.iter()
            .enumerate()
            .map(|(position, value)| {
                element(value)
                    .map_err(|problem| self.malformed(name, format!("element {position} {problem}")))
            })
            .collect()
    }

    /// A required list attribute of strings.
    pub fn string_list(&self, name: &str) -> Result<Vec<String>, DynamoError> {
        self.list(name, |value| match value {
            AttributeValue::S(text) => Ok(text.clone()),
            _ => Err("is not a string"),
        })
    }

    /// A required binary attribute.
    pub fn binary(&self, name: &str) -> Result<&'a [u8], DynamoError> {
        match self.item.get(name) {
            Some(AttributeValue::B(blob)) => Ok(blob.as_ref()),
            Some(_) => Err(self.malformed(name, "is not binary")),
            None => Err(self.malformed(name, "is missing")),
        }
    }

    /// A required list attribute of numbers that fit a `u64`.
    pub fn u64_list(&self, name: &str) -> Result<Vec<u64>, DynamoError> {
        self.list(name, |value| match value {
            AttributeValue::N(text) => text.parse().map_err(|_| "is not a count"),
            _ => Err("is not a number"),
        })
    }

    /// Parses a required string attribute with `parse`, naming the attribute when it fails.
    pub fn parsed<T, E: std::fmt::Display>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, DynamoError> {
        let text = self.string(name)?;
        parse(text).map_err(|e| self.malformed(name, format!("does not parse: {e}")))
    }

    /// Parses an optional string attribute with `parse`.
    pub fn opt_parsed<T, E: std::fmt::Display>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, DynamoError> {
        match self.opt_string(name)? {
            Some(text) => parse(text)
                .map(Some)
                .map_err(|e| self.malformed(name, format!("does not parse: {e}"))),
            None => Ok(None),
        }
    }
}

/// Builds an item attribute by attribute.
#[derive(Default)]
pub struct Writer {
    item: Item,
}

impl Writer {
    /// An empty item.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a string attribute.
    pub fn string(mut self, name: &str, value: impl Into<String>) -> Self {
        self.item.insert(name.to_owned(), AttributeValue::S(value.into()));
        self
    }

    /// Sets a string attribute when the value is present.
    pub fn opt_string(self, name: &str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(value) => self.string(name, value),
            None => self,
        }
    }

    /// Sets a number attribute.
    pub fn number(mut self, name: &str, value: impl Into<i128>) -> Self {
        self.item
            .insert(name.to_owned(), AttributeValue::N(value.into().to_string()));
        self
    }

    /// Sets a number attribute when the value is present.
    pub fn opt_number(self, name: &str, value: Option<impl Into<i128>>) -> Self {
        match value {
            Some(value) => self.number(name, value),
            None => self,
        }
    }

    /// Sets a boolean attribute.
    pub fn bool(mut self, name: &str, value: bool) -> Self {
        self.item.insert(name.to_owned(), AttributeValue::Bool(value));
        self
    }

    /// Sets a list of strings.
    pub fn string_list(mut self, name: &str, values: Vec<String>) -> Self {
        self.item.insert(
            name.to_owned(),
            AttributeValue::L(values.into_iter().map(AttributeValue::S).collect()),
        );
        self
    }

    /// Sets a binary attribute.
    pub fn binary(mut self, name: &str, value: Vec<u8>) -> Self {
        self.item.insert(
            name.to_owned(),
            AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(value)),
        );
        self
    }

    /// Sets a list of numbers.
    pub fn number_list(mut self, name: &str, values: impl IntoIterator<Item = u64>) -> Self {
        self.item.insert(
            name.to_owned(),
            AttributeValue::L(
                values
                    .into_iter()
                    .map(|v| AttributeValue::N(v.to_string()))
                    .collect(),
            ),
        );
        self
    }

    /// Sets a list of maps.
    pub fn list_of_maps(mut self, name: &str, maps: Vec<Item>) -> Self {
        self.item.insert(
            name.to_owned(),
            AttributeValue::L(maps.into_iter().map(AttributeValue::M).collect()),
        );
        self
    }

    /// The finished item.
    pub fn build(self) -> Item {
        self.item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_attribute_is_named() {
        let item = Item::new();
        let error = Reader::new("payment", &item).string("amount").unwrap_err();
        let DynamoError::MalformedItem {
            item_type,
            attribute,
            problem,
        } = &error
        else {
            panic!("{error}")
        };
        assert_eq!(
            (*item_type, attribute.as_str(), problem.as_str()),
            ("payment", "amount", "is missing")
        );
    }

    #[test]
    fn a_wrongly_typed_attribute_is_named() {
        let item = Writer::new().string("amount", "12").number("name", 3).build();
        let reader = Reader::new("payment", &item);
        assert!(
            matches!(reader.i64("amount"), Err(DynamoError::MalformedItem { attribute, .. }) if attribute == "amount")
        );
        assert!(
            matches!(reader.string("name"), Err(DynamoError::MalformedItem { attribute, .. }) if attribute == "name")
        );
        let item = Writer::new().number("amount", -1).build();
        assert!(Reader::new("payment", &item).u64("amount").is_err());
    }

    #[test]
    fn optional_attributes_read_as_none_when_absent_or_null() {
        let mut item = Writer::new().string("a", "x").build();
        item.insert("n".to_owned(), AttributeValue::Null(true));
        let reader = Reader::new("refund", &item);
        assert_eq!(reader.opt_string("a").unwrap(), Some("x"));
        assert_eq!(reader.opt_string("b").unwrap(), None);
        assert_eq!(reader.opt_i64("n").unwrap(), None);
    }

    #[test]
    fn list_elements_are_named_with_their_position() {
        let good = Writer::new().string("sku", "A").build();
        let bad = Writer::new().number("sku", 1).build();
        let item = Writer::new().list_of_maps("rows", vec![good, bad]).build();
        let error = Reader::new("payment", &item)
            .list_of_maps("rows", |r| r.string("sku").map(str::to_owned))
            .unwrap_err();
        assert!(
            matches!(&error, DynamoError::MalformedItem { attribute, .. } if attribute == "rows[1].sku"),
            "{error}"
        );
    }
}
