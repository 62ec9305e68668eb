#!/bin/sh
# Regenerates the zone data that the calendar package embeds.
#   windowsZones.xml  Unicode CLDR common/supplemental/windowsZones.xml (Debian package
#                     unicode-cldr-core; Unicode licence, see the file's header).
#   backward.txt      "old canonical" pairs from the IANA tz database's backward links
#                     (tzdata.zi, Debian package tzdata) for every zone ID that
#                     windowsZones.xml uses, so that CLDR's old IDs (Asia/Calcutta)
#                     resolve to today's names (Asia/Kolkata).
set -eu
cd "$(dirname "$0")"
cp /usr/share/unicode/cldr/common/supplemental/windowsZones.xml windowsZones.xml
grep -o 'type="[^"]*"' windowsZones.xml | sed 's/type="//;s/"//' | tr ' ' '\n' | sort -u > /tmp/cldrzones.$$
awk '$1=="L"{print $3" "$2}' /usr/share/zoneinfo/tzdata.zi | sort > /tmp/links.$$
{
	echo "# old-ID canonical-ID (IANA tz $(head -1 /usr/share/zoneinfo/tzdata.zi | sed 's/# version //') backward links used by CLDR windowsZones.xml)"
	join /tmp/cldrzones.$$ /tmp/links.$$
} > backward.txt
rm -f /tmp/cldrzones.$$ /tmp/links.$$
