/** @fedns/dnssec — pure DNSSEC: canonical form, algorithm 13 signatures, keys and DS, NSEC3, the zone signer, rollover steps. */
export { absName, compareNames, inZone, labelCount, labels, nameWire, parentName } from './names.js';
export { base32hex, base32hexDecode, parseSigTime, rdataWire, sigTime, soaRdata, soaText, typeBitmap, typeCode, typeName, TYPE_CODES, type SoaFields } from './rdata.js';
export { ALGORITHM, CDNSKEY_DELETE, CDS_DELETE, CSK_FLAGS, dnskeyRdata, dnskeyText, dsText, generateKey, keyTag, loadKey, publicKeyObject, rawPublicKey, type SigningKey } from './keys.js';
export { canonicalRRs, parseRrsig, signRRset, verifyRRset, type RRset, type RrsigInfo } from './sign.js';
export { covers, NSEC3PARAM_TEXT, nsec3Hash, nsec3Text } from './nsec3.js';
export { Nsec3Chain } from './chain.js';
export { type KeyPlan, ZoneSigner } from './signer.js';
export { configSets, DEFAULT_TIMING, type SignerTiming, type SignerZone } from './zone.js';
export {
  DEFAULT_ROLLOVER_TIMING,
  type DnssecState,
  type KeyRoles,
  type KeyState,
  keyRoles,
  type RolloverState,
  type RolloverTiming,
  type StoredKey,
  stepRollover,
  withdrawDone,
} from './rollover.js';
