/* Version ordering for package versions. */
#ifndef AERO_VERCMP_H
#define AERO_VERCMP_H

/* Compares two versions as dpkg does (epoch, upstream, revision; '~' sorts
 * before everything, even the end). Also orders apk and most Python versions
 * sensibly. Returns <0, 0 or >0. */
int aero_version_compare(const char *a, const char *b);

#endif
