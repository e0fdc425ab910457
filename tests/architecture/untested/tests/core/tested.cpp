// Fixture of test_mirror_refuses_untested: never compiled.
