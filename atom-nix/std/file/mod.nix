# std.file: reading and parsing files, e.g. a module's own data:
#   std.file.parse "${mod}/config.toml"
{
  # Re-exports the member from parse.nix.
  Parse = mod.parse;

  # read :: path -> string
  Read = builtins.readFile;

  # lines :: path -> [string]
  Lines = p: std.string.lines (builtins.readFile p);

  # json, toml :: path -> value
  Json = p: builtins.fromJSON (builtins.readFile p);
  Toml = p: builtins.fromTOML (builtins.readFile p);
}
