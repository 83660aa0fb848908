# fix :: (a -> a) -> a
# The least fixed point of `f`: `fix (self: { a = 1; b = self.a + 1; })`
# is `{ a = 1; b = 2; }`.
f: let x = f x; in x
