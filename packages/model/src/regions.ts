/**
 * Where the major clouds' regions are (issue 14): the metro area of each
 * region name of Google Cloud, AWS and Azure, to a tenth of a degree or so —
 * enough to rank regions by distance, which is all fedns does with them.
 * A Cluster's `spec.location` overrides its region's entry; regions not listed
 * have no location unless a Cluster gives one.
 */
import type { GeoPoint } from './types.js';

const at = (latitude: number, longitude: number): GeoPoint => ({ latitude, longitude });

const GCP: Record<string, GeoPoint> = {
  'asia-east1': at(24.07, 120.54), // Changhua County, Taiwan
  'asia-east2': at(22.32, 114.17), // Hong Kong
  'asia-northeast1': at(35.68, 139.69), // Tokyo
  'asia-northeast2': at(34.69, 135.5), // Osaka
  'asia-northeast3': at(37.57, 126.98), // Seoul
  'asia-south1': at(19.08, 72.88), // Mumbai
  'asia-south2': at(28.61, 77.21), // Delhi
  'asia-southeast1': at(1.35, 103.7), // Jurong West, Singapore
  'asia-southeast2': at(-6.21, 106.85), // Jakarta
  'australia-southeast1': at(-33.87, 151.21), // Sydney
  'australia-southeast2': at(-37.81, 144.96), // Melbourne
  'europe-central2': at(52.23, 21.01), // Warsaw
  'europe-north1': at(60.57, 27.19), // Hamina
  'europe-southwest1': at(40.42, -3.7), // Madrid
  'europe-west1': at(50.45, 3.82), // St. Ghislain, Belgium
  'europe-west2': at(51.51, -0.13), // London
  'europe-west3': at(50.11, 8.68), // Frankfurt
  'europe-west4': at(53.44, 6.83), // Eemshaven, Netherlands
  'europe-west6': at(47.38, 8.54), // Zurich
  'europe-west8': at(45.46, 9.19), // Milan
  'europe-west9': at(48.86, 2.35), // Paris
  'europe-west10': at(52.52, 13.4), // Berlin
  'europe-west12': at(45.07, 7.69), // Turin
  'me-central1': at(25.29, 51.53), // Doha
  'me-central2': at(26.43, 50.1), // Dammam
  'me-west1': at(32.09, 34.78), // Tel Aviv
  'northamerica-northeast1': at(45.5, -73.57), // Montréal
  'northamerica-northeast2': at(43.65, -79.38), // Toronto
  'southamerica-east1': at(-23.55, -46.63), // São Paulo
  'southamerica-west1': at(-33.45, -70.67), // Santiago
  'us-central1': at(41.26, -95.86), // Council Bluffs, Iowa
  'us-east1': at(33.2, -80.01), // Moncks Corner, South Carolina
  'us-east4': at(39.04, -77.49), // Ashburn, Virginia
  'us-east5': at(39.96, -83.0), // Columbus, Ohio
  'us-south1': at(32.78, -96.8), // Dallas
  'us-west1': at(45.6, -121.18), // The Dalles, Oregon
  'us-west2': at(34.05, -118.24), // Los Angeles
  'us-west3': at(40.76, -111.89), // Salt Lake City
  'us-west4': at(36.17, -115.14), // Las Vegas
  'africa-south1': at(-26.2, 28.05), // Johannesburg
};

const AWS: Record<string, GeoPoint> = {
  'us-east-1': at(39.04, -77.49), // N. Virginia
  'us-east-2': at(39.96, -83.0), // Ohio
  'us-west-1': at(37.77, -122.42), // N. California
  'us-west-2': at(45.84, -119.7), // Oregon
  'ca-central-1': at(45.5, -73.57), // Montréal
  'ca-west-1': at(51.05, -114.07), // Calgary
  'sa-east-1': at(-23.55, -46.63), // São Paulo
  'eu-west-1': at(53.35, -6.26), // Dublin
  'eu-west-2': at(51.51, -0.13), // London
  'eu-west-3': at(48.86, 2.35), // Paris
  'eu-central-1': at(50.11, 8.68), // Frankfurt
  'eu-central-2': at(47.38, 8.54), // Zurich
  'eu-north-1': at(59.33, 18.07), // Stockholm
  'eu-south-1': at(45.46, 9.19), // Milan
  'eu-south-2': at(41.65, -0.88), // Aragón
  'ap-east-1': at(22.32, 114.17), // Hong Kong
  'ap-south-1': at(19.08, 72.88), // Mumbai
  'ap-south-2': at(17.39, 78.49), // Hyderabad
  'ap-northeast-1': at(35.68, 139.69), // Tokyo
  'ap-northeast-2': at(37.57, 126.98), // Seoul
  'ap-northeast-3': at(34.69, 135.5), // Osaka
  'ap-southeast-1': at(1.29, 103.85), // Singapore
  'ap-southeast-2': at(-33.87, 151.21), // Sydney
  'ap-southeast-3': at(-6.21, 106.85), // Jakarta
  'ap-southeast-4': at(-37.81, 144.96), // Melbourne
  'me-south-1': at(26.07, 50.56), // Bahrain
  'me-central-1': at(24.45, 54.38), // UAE
  'il-central-1': at(32.09, 34.78), // Tel Aviv
  'af-south-1': at(-33.92, 18.42), // Cape Town
};

const AZURE: Record<string, GeoPoint> = {
  eastus: at(36.67, -78.39), // Virginia
  eastus2: at(36.67, -78.39), // Virginia
  centralus: at(41.59, -93.62), // Iowa
  northcentralus: at(41.88, -87.63), // Illinois
  southcentralus: at(29.42, -98.49), // Texas
  westcentralus: at(41.14, -104.82), // Wyoming
  westus: at(37.78, -122.42), // California
  westus2: at(47.23, -119.85), // Washington
  westus3: at(33.45, -112.07), // Arizona
  canadacentral: at(43.65, -79.38), // Toronto
  canadaeast: at(46.81, -71.21), // Québec City
  brazilsouth: at(-23.55, -46.63), // São Paulo
  northeurope: at(53.35, -6.26), // Ireland
  westeurope: at(52.37, 4.9), // Netherlands
  uksouth: at(51.51, -0.13), // London
  ukwest: at(51.48, -3.18), // Cardiff
  francecentral: at(48.86, 2.35), // Paris
  germanywestcentral: at(50.11, 8.68), // Frankfurt
  switzerlandnorth: at(47.38, 8.54), // Zurich
  norwayeast: at(59.91, 10.75), // Oslo
  swedencentral: at(60.67, 17.14), // Gävle
  polandcentral: at(52.23, 21.01), // Warsaw
  italynorth: at(45.46, 9.19), // Milan
  eastasia: at(22.32, 114.17), // Hong Kong
  southeastasia: at(1.29, 103.85), // Singapore
  japaneast: at(35.68, 139.69), // Tokyo
  japanwest: at(34.69, 135.5), // Osaka
  koreacentral: at(37.57, 126.98), // Seoul
  centralindia: at(18.52, 73.86), // Pune
  southindia: at(13.08, 80.27), // Chennai
  australiaeast: at(-33.87, 151.21), // New South Wales
  australiasoutheast: at(-37.81, 144.96), // Victoria
  southafricanorth: at(-26.2, 28.05), // Johannesburg
  uaenorth: at(25.2, 55.27), // Dubai
  qatarcentral: at(25.29, 51.53), // Doha
  israelcentral: at(32.09, 34.78), // Israel
};

/** The built-in region table: region name (lower-case) → location. */
export const REGION_LOCATIONS: ReadonlyMap<string, GeoPoint> = new Map(Object.entries({ ...GCP, ...AWS, ...AZURE }));

/** The built-in location of a region name, if the table has it. */
export function builtinRegionLocation(region: string): GeoPoint | undefined {
  return REGION_LOCATIONS.get(region.trim().toLowerCase());
}

const EARTH_RADIUS_KM = 6371.0088;
const rad = (deg: number) => (deg * Math.PI) / 180;

/** Great-circle distance in kilometres (haversine, mean earth radius). */
export function greatCircleKm(a: GeoPoint, b: GeoPoint): number {
  const dLat = rad(b.latitude - a.latitude);
  const dLon = rad(b.longitude - a.longitude);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.latitude)) * Math.cos(rad(b.latitude)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Why a location is not valid (latitude −90…90, longitude −180…180, numbers), or undefined. */
export function locationProblem(raw: unknown): { field: 'latitude' | 'longitude' | ''; message: string } | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { field: '', message: 'must be a mapping {latitude, longitude} in degrees' };
  const { latitude, longitude } = raw as Record<string, unknown>;
  if (typeof latitude !== 'number' || !Number.isFinite(latitude) || latitude < -90 || latitude > 90) return { field: 'latitude', message: 'must be a number of degrees from -90 to 90' };
  if (typeof longitude !== 'number' || !Number.isFinite(longitude) || longitude < -180 || longitude > 180) return { field: 'longitude', message: 'must be a number of degrees from -180 to 180' };
  return undefined;
}
