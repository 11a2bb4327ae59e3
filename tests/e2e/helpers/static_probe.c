/* A static test program for images with nothing else in them (tests/e2e/test_image.py):
 * prints its parent's pid and AERO_SEED, then exits with status 3. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
	const char *seed = getenv("AERO_SEED");
	printf("ppid=%d seed=%s\n", (int)getppid(), seed != NULL ? seed : "-");
	return 3;
}
