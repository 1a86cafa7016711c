// Words the pages show for the desk's codes (Bahasa Indonesia), shared by every page.
"use strict";

const CATEGORY_LABELS = {
  asn_neutrality: "Netralitas ASN", village_official_neutrality: "Netralitas perangkat desa",
  security_forces_neutrality: "Netralitas TNI/Polri", state_resource_misuse: "Penyalahgunaan fasilitas negara",
  money_politics: "Politik uang", slander_hoax_hate: "Fitnah, hoaks, ujaran kebencian", intimidation: "Intimidasi",
  violence: "Kekerasan", social_friction: "Gesekan sosial", campaign_violation: "Pelanggaran kampanye",
  logistics: "Logistik", other: "Lainnya",
};
