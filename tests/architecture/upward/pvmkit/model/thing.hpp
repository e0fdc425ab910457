// A fixture for the include-direction test (a model header core must not include).
#pragma once
