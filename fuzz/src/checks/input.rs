//! A tiny structured-input reader over the fuzzer's bytes (the role `arbitrary`
//! plays elsewhere, without a dependency the replay test would also need).

/// Consumes fuzzer bytes front to back; once exhausted every read returns zeros /
/// empty values, so any input decodes to something.
#[derive(Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// Whether everything was consumed.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// One byte (0 when exhausted).
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    /// A boolean.
    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        let v = usize::from(self.u8()) << 8 | usize::from(self.u8());
        v % n.max(1)
    }

    /// One of `items` (non-empty).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// Up to `max` bytes: a length byte, then that many bytes.
    pub fn bytes(&mut self, max: usize) -> &'a [u8] {
        let n = usize::from(self.u8()).min(max).min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    /// Up to 65535 bytes: a big-endian 2-byte length, then that many bytes.
    pub fn long_bytes(&mut self) -> &'a [u8] {
        let n = (usize::from(self.u8()) << 8 | usize::from(self.u8())).min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    /// A short string over `alphabet` (each byte indexes it).
    pub fn string_from(&mut self, alphabet: &[u8], max: usize) -> String {
        self.bytes(max)
            .iter()
            .map(|b| char::from(alphabet[usize::from(*b) % alphabet.len()]))
            .collect()
    }

    /// Up to `max` bytes as lossy UTF-8.
    pub fn text(&mut self, max: usize) -> String {
        String::from_utf8_lossy(self.bytes(max)).into_owned()
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}
