// SPDX-License-Identifier: Apache-2.0
/* The address key np-httpd's per-address cap and login slowdown count by. */
#include "np_httpd_guard.h"

#include "unit.h"

#include <string.h>

static void key(const char *addr, const char *want)
{
	char k[INET6_ADDRSTRLEN + 4];
	np_httpd_client_key(addr, k);
	assert_string_equal(k, want);
}

static void ipv4_as_is(void **state)
{
	(void)state;
	key("127.0.0.2", "127.0.0.2");
	key("192.168.10.77", "192.168.10.77");
	key("::ffff:10.1.2.3", "10.1.2.3"); /* IPv4-mapped on a dual-stack socket */
}

static void ipv6_by_slash64(void **state)
{
	(void)state;
	key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64");
	key("2001:db8:1:2::1", "2001:db8:1:2::/64");
	key("2001:db8:1:3::1", "2001:db8:1:3::/64");
	key("::1", "::/64");
	key("fe80::1", "fe80::/64");
}

static void not_an_address(void **state)
{
	(void)state;
	key("", "");
	key("nonsense:", "nonsense:");
}

int main(void)
{
	const struct CMUnitTest t[] = {
	    cmocka_unit_test(ipv4_as_is),
	    cmocka_unit_test(ipv6_by_slash64),
	    cmocka_unit_test(not_an_address),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
