# imap from a base index: `from 0` is imap0, `from 1` is imap1.
{
  from = base: f: l: builtins.genList (i: f (i + base) (builtins.elemAt l i)) (builtins.length l);
}
