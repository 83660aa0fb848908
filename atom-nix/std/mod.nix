{
  Fix = mod.fix;
}
