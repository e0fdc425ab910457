// Fixture of test_mirror_refuses_untested: a header with its test file.
#pragma once
