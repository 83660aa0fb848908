# std: the standard library of atom-nix, itself an atom, always in scope as
# `std` in every atom module. No host access and no nixpkgs: only builtins.
#
#   std.fix, std.extends      fixed points
#   std.id, std.const, std.flip, std.pipe, std.compose
#   std.list                  lists       (std/list)
#   std.set                   attribute sets (std/set)
#   std.string                strings     (std/string)
#   std.path                  path strings (std/path)
#   std.file                  reading and parsing files (std/file)
{
  # The submodules are private members until re-exported, as in the seed's
  # std: `file/` is `mod.file` here and `std.file` outside.
  File = mod.file;
  List = mod.list;
  Path = mod.path;
  Set = mod.set;
  String = mod.string;

  # fix :: (a -> a) -> a
  Fix = mod.fix;

  # extends :: (self -> super -> attrs) -> (self -> attrs) -> self -> attrs
  # Layer an overlay over a function to be fixed: `fix (extends o f)`.
  Extends = overlay: f: self:
    let super = f self; in super // overlay self super;

  # id :: a -> a
  Id = x: x;

  # const :: a -> b -> a
  Const = x: _: x;

  # flip :: (a -> b -> c) -> b -> a -> c
  Flip = f: a: b: f b a;

  # pipe :: a -> [ (a -> a) ] -> a
  # `pipe 2 [ (x: x + 1) (x: x * 10) ]` is 30.
  Pipe = x: fs: builtins.foldl' (acc: f: f acc) x fs;

  # compose :: [ (a -> a) ] -> a -> a
  # Right to left: `compose [ f g ] x` is `f (g x)`.
  Compose = fs: x: builtins.foldl' (acc: f: f acc) x (mod.list.reverse fs);
}
