# plugins/local.mk: the sample out-of-tree policy plug-in (included by Makefile.am).
#
# A plug-in is a shared object built against policies/policy.h only; its
# policy_* calls resolve against the program that loads it (linked with
# --export-dynamic, which GLIB_LIBS carries from gmodule-2.0). The build has
# no libtool, so a plain rule compiles it with -shared -fPIC. make check
# builds it first: tests/policies/test_plugin depends on it.
PLUGIN_CFLAGS = -shared -fPIC
plugins/sample_plugin.so: $(top_srcdir)/plugins/sample_plugin.c $(top_srcdir)/policies/policy.h
	@$(MKDIR_P) plugins
	$(AM_V_CC)$(CC) $(PLUGIN_CFLAGS) $(AM_CPPFLAGS) $(CPPFLAGS) $(AM_CFLAGS) $(CFLAGS) \
		-o $@ $(top_srcdir)/plugins/sample_plugin.c $(GLIB_LIBS) $(SAN_LDFLAGS)
CLEANFILES = plugins/sample_plugin.so
EXTRA_DIST += plugins/sample_plugin.c
