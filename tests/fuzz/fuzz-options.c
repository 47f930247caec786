/* Sanitizer defaults of the fuzz targets, so that a target run by hand
 * behaves as under tests/fuzz/run.sh: an UndefinedBehaviorSanitizer report
 * is a crash, with its stack.  $UBSAN_OPTIONS adds to these (run.sh adds
 * the suppressions of tests/ubsan.supp). */
const char *__ubsan_default_options(void);

const char *
__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}
