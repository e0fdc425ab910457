// Fixture of test_mirror_refuses_untested: a header without one.
#pragma once
