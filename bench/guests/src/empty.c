/*
 * empty.c - does nothing: the module of the startup benchmark (the host times
 * building the context, linking, instantiating and running it).
 */
int main(void) { return 0; }
