# parse :: path -> value
# Parse a file by its extension: `.json` and `.toml` to values, `.nix` is
# refused (modules reach code only through their scopes), anything else is
# returned as a string.
p:
let
  ext = std.path.extension (toString p);
  text = builtins.readFile p;
in
if ext == "json" then builtins.fromJSON text
else if ext == "toml" then builtins.fromTOML text
else if ext == "nix" then throw "std.file.parse: `${toString p}`: Nix files are not data; use a member or `from`"
else text
