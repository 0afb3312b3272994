"""Maps (地図情報).

Owns: layers and features (parcels 筆/地番, roads, pipes, districts, facilities, hazard zones),
geocoding of addresses, the map pages, GeoJSON and vector tiles built in PostGIS.

May import: ``cityhall`` and ``residents`` (selectors and the address points it geocodes); the
staff map's parcel panel reads ``payments.selectors.charges_for_parcel``. Apps above read the map
through ``gis.selectors``.
"""
