package devices

// FallbackProviderName names a passkey whose AAGUID is unknown, all zeros
// (many authenticators send zeros unless attestation is requested) or
// absent.
const FallbackProviderName = "Passkey"

// ProviderName returns a human name for the authenticator model an AAGUID
// identifies ("iCloud Keychain", "YubiKey 5 Series"), or
// FallbackProviderName. It accepts any form ParseAAGUID does.
func ProviderName(aaguid string) string {
	if name, ok := KnownProvider(aaguid); ok {
		return name
	}
	return FallbackProviderName
}

// KnownProvider is ProviderName without the fallback: ok is false for an
// AAGUID the table does not know.
//
// The table is Tandem's own, written from public facts: the AAGUIDs that
// passkey providers publish, as collected by the community list at
// https://github.com/passkeydeveloper/passkey-authenticator-aaguids (which
// has no licence file and asks to be used only for naming passkeys, so it is
// not copied, only consulted), and security-key models from the FIDO
// Alliance Metadata Service. Names are shortened to what a user recognises.
// Checked 2026-02; new providers appear often, so an unknown AAGUID is
// normal and falls back to "Passkey". It is a switch, not a map, so the
// package has no mutable state.
func KnownProvider(aaguid string) (name string, ok bool) {
	id, err := ParseAAGUID(aaguid)
	if err != nil || id == "" {
		return "", false
	}
	switch id {
	// Platform and browser providers.
	case "fbfc3007-154e-4ecc-8c0b-6e020557d7bd":
		return "iCloud Keychain", true
	case "dd4ec289-e01d-41c9-bb89-70fa845d4bf2":
		return "iCloud Keychain (managed)", true
	case "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4":
		return "Google Password Manager", true
	case "adce0002-35bc-c60a-648b-0b25f1f05503":
		return "Chrome on Mac", true
	case "771b48fd-d3d4-4f74-9232-fc157ab0507a":
		return "Edge on Mac", true
	case "b5397666-4885-aa6b-cebf-e52262a439a2":
		return "Chromium", true
	case "08987058-cadc-4b81-b6e1-30de50dcbe96",
		"9ddd1817-af5a-4672-a2b9-3e3dd95000a9",
		"6028b017-b1d4-4c02-b4b3-afcdafc96bb2":
		return "Windows Hello", true
	case "53414d53-554e-4700-0000-000000000000":
		return "Samsung Pass", true

	// Password managers.
	case "bada5566-a7aa-401f-bd96-45619a55120d":
		return "1Password", true
	case "d548826e-79b4-db40-a3d8-11116f7e8349",
		"6e8248d5-b479-40db-a3d8-11116f7e8349":
		return "Bitwarden", true
	case "531126d6-e717-415c-9320-3d9aa6981239":
		return "Dashlane", true
	case "b84e4048-15dc-4dd0-8640-f4f60813c8af":
		return "NordPass", true
	case "0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6":
		return "Keeper", true
	case "f3809540-7f14-49c1-a8b3-8f813b225541":
		return "Enpass", true
	case "50726f74-6f6e-5061-7373-50726f746f6e":
		return "Proton Pass", true
	case "fdb141b2-5d84-443e-8a35-4698c205a502":
		return "KeePassXC", true
	case "b78a0a55-6ef8-d246-a042-ba0f6d55050c":
		return "LastPass", true
	case "39a5647e-1853-446c-a1f6-a79bae9f5bc7":
		return "IDmelon", true

	// Security keys.
	case "cb69481e-8ff7-4039-93ec-0a2729a154a8",
		"ee882879-721c-4913-9775-3dfcce97072a":
		return "YubiKey 5 Series", true
	case "fa2b99dc-9e39-4257-8f92-4a30d23c4118",
		"2fc0579f-8113-47ea-b116-bb5a8db9202a":
		return "YubiKey 5 Series with NFC", true
	case "c5ef55ff-ad9a-4b9f-b580-adebafe026d0":
		return "YubiKey 5Ci", true
	case "73bb0cd4-e502-49b8-9c6f-b59445bf720b":
		return "YubiKey 5 FIPS Series", true
	case "c1f9a0bc-1dd2-404a-b27f-8e29047a43fd":
		return "YubiKey 5 FIPS Series with NFC", true
	case "85203421-48f9-4355-9bc8-8a53846e5083":
		return "YubiKey 5 FIPS Series with Lightning", true
	case "d8522d9f-575b-4866-88a9-ba99fa02f35b",
		"83c47309-aabb-4108-8470-8be838b573cb":
		return "YubiKey Bio Series", true
	case "f8a011f3-8c0a-4d15-8006-17111f9edc7d",
		"b92c3f9a-c014-4056-887f-140a2501163b":
		return "Security Key by Yubico", true
	case "149a2021-8ef6-4133-96b8-81f8d5b7f1f5",
		"6d44ba9b-f6ec-2e49-b930-0c8fe920cb73":
		return "Security Key by Yubico with NFC", true
	case "a4e9fc6d-4cbe-4758-b8ba-37598bb5bbaa",
		"0bb43545-fd2c-4185-87dd-feb0b2916ace":
		return "Security Key NFC by Yubico", true
	case "42b4fb4a-2866-43b2-9bf7-6c6669c2e5d3":
		return "Google Titan Security Key", true
	case "8876631b-d4a0-427f-5773-0ec71c9e0279",
		"8976631b-d4a0-427f-5773-0ec71c9e0279":
		return "SoloKey", true
	case "ee041bce-25e5-4cdb-8f86-897fd6418464",
		"833b721a-ff5f-4d00-bb2e-bdda3ec01e29":
		return "Feitian ePass FIDO2", true

	// Chrome's DevTools/CDP virtual authenticator (KRATOS-NOTES §6): seen in
	// tests, and in production only from someone experimenting.
	case "01020304-0506-0708-0102-030405060708":
		return "Virtual authenticator", true
	}
	return "", false
}
