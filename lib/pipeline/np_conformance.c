// SPDX-License-Identifier: Apache-2.0
/* np_conformance: see np_conformance.h. One walk over the document; each
 * block (section, paragraph, table) is written in the chosen format by the
 * small emitter below, and the facts come from the code's tables. */
#include "np_conformance.h"

#include "np_config.h"
#include "np_deid.h"
#include "np_json.h"
#include "np_recv.h"
#include "np_sopclass.h"
#include "np_tls_policy.h"
#include "np_ts.h"
#include "np_ul.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#ifndef NP_VERSION
#define NP_VERSION "0.0.0"
#endif

/* What np-deliver proposes: the objects np_dcm_build writes (Encapsulated
 * PDF for dicom_pdf destinations, Comprehensive SR for dicom_sr), each in
 * Explicit VR Little Endian on one association per object, and Verification
 * for a destination's test. e2e 19-conformance compares this with what
 * storescp logs. */
static const struct {
	const char *uid, *name, *ts, *what;
} scu_sops[] = {
    {"1.2.840.10008.5.1.4.1.1.104.1", "Encapsulated PDF Storage", NP_TS_EXPLICIT_LE,
     "the PDF report, for a destination of type dicom_pdf"},
    {"1.2.840.10008.5.1.4.1.1.88.33", "Comprehensive SR Storage", NP_TS_EXPLICIT_LE,
     "the scores as a structured report, for a destination of type dicom_sr"},
    {NP_UL_VERIFICATION, "Verification", NP_TS_EXPLICIT_LE "," NP_TS_IMPLICIT_LE,
     "the Test button of a destination (np-deliver --test)"},
};
/* np_ul's default maximum PDU for an association it requests. */
#define SCU_MAX_PDU 262144
#define VERIFICATION_TS_N 3
static const char *const verification_ts[VERIFICATION_TS_N] = {NP_TS_IMPLICIT_LE, NP_TS_EXPLICIT_LE, NP_TS_EXPLICIT_BE};

/* ---- emitter ---- */

struct doc {
	FILE *f;
	enum np_conf_format fmt;
	int ncols;
	int fresh; /* just after a heading: mdoc wants no .Pp there */
};

static void html_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '&')
			fputs("&amp;", f);
		else if (*s == '"')
			fputs("&quot;", f);
		else
			fputc(*s, f);
	}
}

/* mdoc text: backslashes escaped; in a macro line, a word mdoc would take
 * for a macro ("No", "Ta", "St") or a delimiter is protected with \&. */
static void mdoc_word(FILE *f, const char *w, size_t n, int macro_line)
{
	if (macro_line) {
		int macroish = (n == 2 || n == 3) && isupper((unsigned char)w[0]) && islower((unsigned char)w[1]);
		if (macroish || strchr("()[].,:;?!|", w[0]))
			fputs("\\&", f);
	}
	for (size_t i = 0; i < n; i++) {
		if (w[i] == '\\')
			fputs("\\e", f);
		else
			fputc(w[i], f);
	}
}

static void mdoc_text(FILE *f, const char *s, int macro_line)
{
	while (*s) {
		size_t n = strcspn(s, " ");
		mdoc_word(f, s, n, macro_line);
		s += n;
		while (*s == ' ') {
			fputc(' ', f);
			s++;
		}
	}
}

/* A paragraph: in mdoc each sentence on a line of its own (mdoc(7)), no
 * line starting with a dot or an apostrophe. */
static void para(struct doc *d, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (d->fmt == NP_CONF_HTML) {
		fputs("<p>", d->f);
		html_esc(d->f, s);
		fputs("</p>\n", d->f);
	} else if (d->fmt == NP_CONF_MDOC) {
		if (!d->fresh)
			fputs(".Pp\n", d->f);
		char *p = s;
		while (*p) {
			char *end = strstr(p, ". ");
			size_t len = end ? (size_t)(end - p) + 1 : strlen(p);
			if (*p == '.' || *p == '\'')
				fputs("\\&", d->f);
			char save = p[len];
			p[len] = 0;
			mdoc_text(d->f, p, 0);
			p[len] = save;
			fputc('\n', d->f);
			p += len;
			while (*p == ' ')
				p++;
		}
	}
	d->fresh = 0;
	free(s);
}

static void heading(struct doc *d, int level, const char *title)
{
	if (d->fmt == NP_CONF_HTML) {
		fprintf(d->f, "<h%d>", level + 1);
		html_esc(d->f, title);
		fprintf(d->f, "</h%d>\n", level + 1);
	} else if (d->fmt == NP_CONF_MDOC) {
		fputs(level == 1 ? ".Sh " : ".Ss ", d->f);
		for (const char *p = title; level == 1 && *p; p++)
			fputc(toupper((unsigned char)*p), d->f);
		if (level != 1)
			mdoc_text(d->f, title, 1);
		fputc('\n', d->f);
	}
	d->fresh = 1;
}

static void table(struct doc *d, int ncols, const char *const *hdr)
{
	d->ncols = ncols;
	d->fresh = 0;
	if (d->fmt == NP_CONF_HTML) {
		fputs("<table>\n<tr>", d->f);
		for (int i = 0; i < ncols; i++) {
			fputs("<th>", d->f);
			html_esc(d->f, hdr[i]);
			fputs("</th>", d->f);
		}
		fputs("</tr>\n", d->f);
	} else if (d->fmt == NP_CONF_MDOC) {
		fputs(".Bl -column", d->f);
		for (int i = 0; i < ncols; i++)
			fprintf(d->f, " \"%s\"", hdr[i]);
		fputs("\n.It", d->f);
		for (int i = 0; i < ncols; i++) {
			fputs(i ? " Ta Sy " : " Sy ", d->f);
			mdoc_text(d->f, hdr[i], 1);
		}
		fputc('\n', d->f);
	}
}

static void row(struct doc *d, const char *const *cells)
{
	if (d->fmt == NP_CONF_HTML) {
		fputs("<tr>", d->f);
		for (int i = 0; i < d->ncols; i++) {
			fputs("<td>", d->f);
			html_esc(d->f, cells[i] ? cells[i] : "");
			fputs("</td>", d->f);
		}
		fputs("</tr>\n", d->f);
	} else if (d->fmt == NP_CONF_MDOC) {
		fputs(".It", d->f);
		for (int i = 0; i < d->ncols; i++) {
			fputs(i ? " Ta " : " ", d->f);
			mdoc_text(d->f, cells[i] && *cells[i] ? cells[i] : "-", 1);
		}
		fputc('\n', d->f);
	}
}

static void table_end(struct doc *d)
{
	if (d->fmt == NP_CONF_HTML)
		fputs("</table>\n", d->f);
	else if (d->fmt == NP_CONF_MDOC)
		fputs(".El\n", d->f);
}

/* ---- facts ---- */

static json_t *dflt(void)
{
	return np_config_defaults();
}

/* The suites OpenSSL enables for profile p, IANA names, comma separated
 * (TLS 1.3 ones first, as OpenSSL lists them). NULL on failure. */
static char *profile_suites(int p)
{
	SSL_CTX *c = SSL_CTX_new(TLS_server_method());
	if (!c)
		return NULL;
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	if (m && np_tls_policy_apply_profile(c, p) == 0) {
		STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(c);
		for (int i = 0; i < sk_SSL_CIPHER_num(sk); i++)
			fprintf(m, "%s%s", i ? ", " : "", SSL_CIPHER_standard_name(sk_SSL_CIPHER_value(sk, i)));
	}
	if (m)
		fclose(m);
	SSL_CTX_free(c);
	return out;
}

static const char *ts_name(const char *uid)
{
	const struct np_ts *t = np_ts_find(uid);
	return t ? t->name : uid;
}

/* ---- JSON ---- */

static int write_json(FILE *f)
{
	json_t *j = json_object(), *a;
	json_object_set_new(j, "version", json_string(NP_VERSION));
	json_object_set_new(j, "implementation_class_uid", json_string(NP_UL_IMPL_CLASS_UID));
	json_object_set_new(j, "implementation_version_name", json_string(NP_UL_IMPL_VERSION));

	json_t *scp = json_object();
	json_object_set_new(scp, "ae_title", json_string(np_json_str(dflt(), "dicom.ae_title", "")));
	json_object_set_new(scp, "port", json_integer(np_json_int(dflt(), "dicom.port", 0)));
	json_object_set_new(scp, "tls_port", json_integer(np_json_int(dflt(), "dicom.tls.port", 0)));
	json_object_set_new(scp, "max_pdu", json_integer(np_json_int(dflt(), "dicom.max_pdu_bytes", 0)));
	json_object_set_new(scp, "max_associations", json_integer(np_json_int(dflt(), "dicom.max_associations", 0)));
	a = json_array();
	for (unsigned i = 0; i < np_sopclass_storage_count; i++) {
		json_t *o = json_pack("{s:s,s:s,s:b}", "uid", np_sopclass_storage[i].uid, "name",
				      np_sopclass_storage[i].name, "retired", np_sopclass_storage[i].retired);
		json_array_append_new(a, o);
	}
	json_object_set_new(scp, "sop_classes", a);
	a = json_array();
	for (unsigned i = 0; i < np_sopclass_nonpatient_count; i++)
		json_array_append_new(a, json_pack("{s:s,s:s}", "uid", np_sopclass_nonpatient_table[i].uid, "name",
						   np_sopclass_nonpatient_table[i].name));
	json_object_set_new(scp, "refused_sop_classes", a);
	json_t *acc = json_array(), *ref = json_array();
	for (unsigned i = 0; i < np_ts_count; i++)
		json_array_append_new(np_ts_table[i].accepted ? acc : ref,
				      json_pack("{s:s,s:s}", "uid", np_ts_table[i].uid, "name", np_ts_table[i].name));
	json_object_set_new(scp, "transfer_syntaxes", acc);
	json_object_set_new(scp, "refused_transfer_syntaxes", ref);
	a = json_array();
	for (int i = 0; i < VERIFICATION_TS_N; i++)
		json_array_append_new(a, json_string(verification_ts[i]));
	json_object_set_new(scp, "verification_transfer_syntaxes", a);
	a = json_array();
	for (unsigned i = 0; i < np_recv_nstatuses; i++) {
		char code[8];
		snprintf(code, sizeof code, "%04X", np_recv_statuses[i].code);
		json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "code", code, "meaning",
						   np_recv_statuses[i].meaning, "when", np_recv_statuses[i].when));
	}
	json_object_set_new(scp, "statuses", a);
	json_object_set_new(j, "scp", scp);

	json_t *scu = json_object();
	json_object_set_new(scu, "max_pdu", json_integer(SCU_MAX_PDU));
	a = json_array();
	for (size_t i = 0; i < sizeof scu_sops / sizeof scu_sops[0]; i++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "uid", scu_sops[i].uid, "name", scu_sops[i].name,
						   "transfer_syntaxes", scu_sops[i].ts));
	json_object_set_new(scu, "sop_classes", a);
	json_object_set_new(j, "scu", scu);

	a = json_array();
	for (int p = 0; p < NP_TLS_PROFILE_COUNT; p++) {
		char *s = profile_suites(p);
		json_array_append_new(a,
				      json_pack("{s:s,s:s,s:s,s:s,s:b}", "name", np_tls_profiles[p].name, "dicom",
						np_tls_profiles[p].dicom, "min_protocol", np_tls_profiles[p].min_proto,
						"suites", s ? s : "", "default", p == NP_TLS_BCP195));
		free(s);
	}
	json_object_set_new(j, "tls_profiles", a);
	a = json_array();
	for (unsigned i = 0; i < np_deid_ncodes; i++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:b}", "code", np_deid_codes[i].code, "meaning",
						   np_deid_codes[i].meaning, "if_dates_shifted",
						   np_deid_codes[i].if_shift));
	json_object_set_new(j, "deidentification_codes", a);
	int r = json_dumpf(j, f, JSON_INDENT(2)) == 0 && fputc('\n', f) != EOF ? 0 : -1;
	json_decref(j);
	return r;
}

/* ---- the statement ---- */

static void overview(struct doc *d)
{
	heading(d, 1, "Conformance Statement Overview");
	para(d,
	     "neuropacs-agent %s is an on-premise DICOM gateway. Its Storage SCP, the application entity np-recv, "
	     "receives the studies of modalities and PACS into a durable spool; after quality control and "
	     "de-identification they are uploaded to the Neuropacs cloud. Its Storage SCU, np-deliver, sends the "
	     "results back to the PACS as an Encapsulated PDF or a Comprehensive SR. The agent offers no "
	     "query/retrieve, worklist, storage commitment or media services.",
	     NP_VERSION);
	static const char *const h[] = {"SOP Classes", "User of Service (SCU)", "Provider of Service (SCP)"};
	table(d, 3, h);
	char n[64];
	snprintf(n, sizeof n, "Yes (np-recv, %u classes)", np_sopclass_storage_count);
	row(d, (const char *const[]){"Transfer: every Storage SOP Class of patient data (4.2.1.3)", "No", n});
	row(d, (const char *const[]){"Transfer: Encapsulated PDF Storage, Comprehensive SR Storage", "Yes (np-deliver)",
				     "Yes (np-recv)"});
	row(d, (const char *const[]){"Verification", "Yes (np-deliver)", "Yes (np-recv)"});
	table_end(d);
	para(d, "This statement is generated from the tables the programs run on (np-conformance(1)); the same text "
		"is installed as np-conformance(7) and share/neuropacs/doc/np-conformance.html and served by the "
		"web interface at /api/conformance.");
}

static void implementation_model(struct doc *d)
{
	heading(d, 1, "Networking");
	heading(d, 2, "4.1 Implementation Model");
	para(d, "Application data flow: a remote Storage SCU (modality, PACS, workstation) sends instances to "
		"np-recv, which stores each one durably under spool/incoming/<Study Instance UID>/ before it answers "
		"the C-STORE-RQ. np-stable declares a study complete when no instance arrived for "
		"dicom.stabilization_seconds; QC, de-identification and upload follow without any DICOM network "
		"service. When results arrive, np-deliver opens an association to each configured DICOM destination "
		"and sends the result objects.");
	para(d, "Functional definition of the application entities: np-recv listens on one TCP port (plain, or "
		"TLS when dicom.tls.enabled) and forks one process per association, so that associations run in "
		"parallel and one peer's failure does not affect another's. np-deliver is started for each finished "
		"study and requests one association per result object and destination.");
	para(d, "Sequencing of real-world activities: results are delivered only after the received study was "
		"complete, de-identified, uploaded and processed; np-recv may receive further instances of the same "
		"study meanwhile (they start a new processing round).");
}

static void scp_spec(struct doc *d)
{
	json_t *c = dflt();
	heading(d, 2, "4.2.1 np-recv: Storage SCP");
	heading(d, 3, "4.2.1.1 SOP Classes");
	para(d,
	     "np-recv provides the Storage service as SCP for every Storage SOP Class of patient data of PS3.4 "
	     "(%u classes, retired ones included, listed in 4.2.1.3) and the Verification SOP Class "
	     "(1.2.840.10008.1.1). It never requests associations.",
	     np_sopclass_storage_count);
	heading(d, 3, "4.2.1.2 Association Policies");
	para(d,
	     "Application context name: %s. Maximum PDU size received: %lld bytes (dicom.max_pdu_bytes); PDUs "
	     "sent never exceed the peer's maximum.",
	     NP_UL_APP_CONTEXT, np_json_int(c, "dicom.max_pdu_bytes", 0));
	para(d,
	     "Number of associations: at most %lld at once (dicom.max_associations), of which %lld from one IP "
	     "address or IPv6 /64 (dicom.max_associations_per_address). Beyond that a request is refused with "
	     "A-ASSOCIATE-RJ (transient, service provider presentation, local-limit-exceeded); when every "
	     "association is taken, the oldest connection still sending its A-ASSOCIATE-RQ is closed for the "
	     "new one.",
	     np_json_int(c, "dicom.max_associations", 0), np_json_int(c, "dicom.max_associations_per_address", 0));
	para(d, "Asynchronous nature: not supported. A proposed Asynchronous Operations Window is answered with "
		"1 invoked and 1 performed operation; operations are performed one at a time.");
	para(d,
	     "Timeouts: the TLS handshake and the whole A-ASSOCIATE-RQ must arrive within %lld s of the "
	     "connection (ARTIM, dicom.artim_seconds); an association idle for %lld s (dicom.idle_seconds) is "
	     "aborted, and a PDU once begun must arrive at %u bytes/s or faster (at least %d s per PDU).",
	     np_json_int(c, "dicom.artim_seconds", 0), np_json_int(c, "dicom.idle_seconds", 0), NP_UL_MIN_RATE,
	     NP_UL_PDU_FLOOR_S);
	static const char *const ih[] = {"Implementation identifying information", "Value"};
	table(d, 2, ih);
	row(d, (const char *const[]){"Implementation Class UID", NP_UL_IMPL_CLASS_UID});
	row(d, (const char *const[]){"Implementation Version Name", NP_UL_IMPL_VERSION});
	table_end(d);
	para(d,
	     "Association acceptance policy: an A-ASSOCIATE-RQ is rejected (permanent) when its called AE "
	     "title is not dicom.ae_title (reason 7, called-AE-title-not-recognized), when dicom.allowed_calling_aets "
	     "is not empty and does not list the calling AE title (reason 3, calling-AE-title-not-recognized), for "
	     "another application context (reason 2) or protocol version (ACSE, reason 2). A plain A-ASSOCIATE-RQ "
	     "on the TLS port is rejected (permanent, no reason given).");

	heading(d, 3, "4.2.1.3 Presentation Context Acceptance");
	para(d, "Every presentation context whose abstract syntax is a Storage SOP Class below is accepted with the "
		"first of its proposed transfer syntaxes that is in the transfer syntax table; the Verification SOP "
		"Class with Implicit VR Little Endian, Explicit VR Little Endian or Explicit VR Big Endian. Role: SCP "
		"only; SCP/SCU Role Selection items are not answered (the requestor stays SCU). Extended negotiation: "
		"none (SOP Class Extended and Common Extended Negotiation items are ignored and not answered). "
		"Instances are stored in the transfer syntax they arrive in; nothing is transcoded.");
	para(d, "A context is rejected with result 3 (abstract-syntax-not-supported) for any other abstract syntax, "
		"including the Non-Patient Object Storage classes (their instances belong to no patient or study), "
		"and with result 4 (transfer-syntaxes-not-supported) when none of its transfer syntaxes is in the "
		"table.");
	static const char *const th[] = {"Transfer Syntax", "UID"};
	table(d, 2, th);
	for (unsigned i = 0; i < np_ts_count; i++)
		if (np_ts_table[i].accepted)
			row(d, (const char *const[]){np_ts_table[i].name, np_ts_table[i].uid});
	table_end(d);
	para(d, "Transfer syntaxes known but refused (result 4):");
	table(d, 2, th);
	for (unsigned i = 0; i < np_ts_count; i++)
		if (!np_ts_table[i].accepted)
			row(d, (const char *const[]){np_ts_table[i].name, np_ts_table[i].uid});
	table_end(d);
	para(d, "Storage SOP Classes accepted (role SCP, no extended negotiation, every transfer syntax of the "
		"first table):");
	static const char *const sh[] = {"SOP Class", "UID", "Note"};
	table(d, 3, sh);
	for (unsigned i = 0; i < np_sopclass_storage_count; i++)
		row(d, (const char *const[]){np_sopclass_storage[i].name, np_sopclass_storage[i].uid,
					     np_sopclass_storage[i].retired ? "retired" : ""});
	table_end(d);
	para(d, "Non-Patient Object Storage classes refused (result 3):");
	table(d, 3, sh);
	for (unsigned i = 0; i < np_sopclass_nonpatient_count; i++)
		row(d, (const char *const[]){np_sopclass_nonpatient_table[i].name, np_sopclass_nonpatient_table[i].uid,
					     "not a patient's instance"});
	table_end(d);

	heading(d, 3, "4.2.1.4 SOP Specific Conformance: Storage SCP");
	para(d, "np-recv conforms to the Storage SOP Classes at Level 2 (Full): every element of the data set is "
		"stored as received, private elements included; nothing is coerced. Received files get a Part 10 "
		"meta header with np-recv's implementation identity and the calling AE title as Source Application "
		"Entity Title. Instances are kept until the study was processed and the retention settings remove "
		"them. A C-STORE-RQ is answered with one of these statuses:");
	static const char *const st[] = {"Status", "Meaning", "When"};
	table(d, 3, st);
	for (unsigned i = 0; i < np_recv_nstatuses; i++) {
		char code[8];
		snprintf(code, sizeof code, "%04X", np_recv_statuses[i].code);
		row(d, (const char *const[]){code, np_recv_statuses[i].meaning, np_recv_statuses[i].when});
	}
	table_end(d);
	para(d, "C-ECHO-RQ is answered with status 0000. Any other DIMSE command, or a PDU that breaks PS3.8, ends "
		"the association with an A-ABORT (service provider).");
}

static void scu_spec(struct doc *d)
{
	heading(d, 2, "4.2.2 np-deliver: Storage SCU");
	para(d, "np-deliver sends result objects to the DICOM destinations of delivery.destinations (type "
		"dicom_pdf or dicom_sr). It never accepts associations.");
	static const char *const h[] = {"SOP Class", "UID", "Transfer Syntax proposed", "Sent for"};
	table(d, 4, h);
	for (size_t i = 0; i < sizeof scu_sops / sizeof scu_sops[0]; i++) {
		char ts[160] = "";
		char buf[160];
		snprintf(buf, sizeof buf, "%s", scu_sops[i].ts);
		for (char *t = strtok(buf, ","); t; t = strtok(NULL, ","))
			snprintf(ts + strlen(ts), sizeof ts - strlen(ts), "%s%s %s", ts[0] ? "; " : "", ts_name(t), t);
		row(d, (const char *const[]){scu_sops[i].name, scu_sops[i].uid, ts, scu_sops[i].what});
	}
	table_end(d);
	para(d,
	     "Association initiation policy: one association per object and destination, proposing one "
	     "presentation context (the object's SOP Class with Explicit VR Little Endian, role SCU, no extended "
	     "negotiation); Verification with Explicit then Implicit VR Little Endian. Maximum PDU size received: "
	     "%d bytes; implementation identity as for np-recv. Calling AE title: the destination's "
	     "calling_ae_title, else dicom.ae_title; called AE title: the destination's ae_title. The association "
	     "is released after the C-STORE-RSP.",
	     SCU_MAX_PDU);
	para(d, "Status handling: 0000 and warnings (Bxxx) count as delivered. Axxx (refused, out of resources) is "
		"a temporary failure, retried on the retry settings (retry.*) until retry.give_up_seconds; any other "
		"status, an association rejected permanently or no accepted context is a permanent failure, recorded "
		"and shown on the Results page for a manual resend. Network errors and timeouts (30 s) are "
		"temporary.");
}

static void network(struct doc *d)
{
	json_t *c = dflt();
	heading(d, 2, "4.3 Network Interfaces");
	para(d,
	     "TCP/IP over IPv4 and IPv6, on the host's interfaces; TCP_NODELAY is set on every DICOM connection. "
	     "np-recv listens on dicom.bind (default %s) port dicom.port (default %lld), or with DICOM TLS on "
	     "dicom.tls.port only (default %lld, the registered dicom-tls port); one port at a time. A TLS "
	     "ClientHello on the plain port is closed and logged as such, and a plain A-ASSOCIATE-RQ on the TLS "
	     "port is rejected.",
	     np_json_str(c, "dicom.bind", ""), np_json_int(c, "dicom.port", 0), np_json_int(c, "dicom.tls.port", 0));
	heading(d, 2, "4.4 Configuration");
	para(d, "Settings are in etc/neuropacs.json (neuropacs.json(5)) and on the Settings page; np-recv applies "
		"them on SIGHUP without dropping associations.");
	static const char *const h[] = {"Setting", "Default", "Meaning"};
	table(d, 3, h);
	char v[6][32];
	snprintf(v[0], sizeof v[0], "%s", np_json_str(c, "dicom.ae_title", ""));
	snprintf(v[1], sizeof v[1], "%lld", np_json_int(c, "dicom.port", 0));
	snprintf(v[2], sizeof v[2], "%lld", np_json_int(c, "dicom.tls.port", 0));
	snprintf(v[3], sizeof v[3], "%lld", np_json_int(c, "dicom.max_pdu_bytes", 0));
	snprintf(v[4], sizeof v[4], "%lld", np_json_int(c, "dicom.max_associations", 0));
	snprintf(v[5], sizeof v[5], "%s", np_json_str(c, "dicom.tls.profile", "bcp195"));
	row(d, (const char *const[]){"dicom.ae_title", v[0], "np-recv's AE title (called AE title)"});
	row(d, (const char *const[]){"dicom.port", v[1], "plain DICOM port"});
	row(d, (const char *const[]){"dicom.allowed_calling_aets", "(any)", "calling AE titles accepted"});
	row(d, (const char *const[]){"dicom.tls.enabled", "false", "listen for DICOM TLS instead"});
	row(d, (const char *const[]){"dicom.tls.port", v[2], "DICOM TLS port"});
	row(d, (const char *const[]){"dicom.tls.profile", v[5], "TLS profile of np-recv (7.1)"});
	row(d, (const char *const[]){"dicom.tls.verify_client", "false",
				     "require a client certificate from dicom.tls.ca_file"});
	row(d, (const char *const[]){"dicom.max_pdu_bytes", v[3], "maximum PDU received"});
	row(d, (const char *const[]){"dicom.max_associations", v[4], "associations at once"});
	row(d, (const char *const[]){"delivery.destinations[].host, port, ae_title, calling_ae_title", "",
				     "a PACS np-deliver sends to"});
	row(d, (const char *const[]){"delivery.destinations[].tls, tls_profile, tls_ca_file, tls_cert_file", "",
				     "DICOM TLS to that PACS (7.1)"});
	table_end(d);
}

static void charsets(struct doc *d)
{
	heading(d, 1, "Support of Character Sets");
	para(d, "np-recv accepts instances in any Specific Character Set (0008,0005) and stores them unchanged; it "
		"reads only UIDs from them. De-identification keeps the Specific Character Set and replaces values "
		"with ASCII text. The objects np-deliver creates copy the patient and study attributes with the "
		"source's Specific Character Set and add ASCII text only.");
}

static void security(struct doc *d)
{
	heading(d, 1, "Security");
	heading(d, 2, "7.1 Security Profiles: DICOM TLS");
	para(d, "np-recv (dicom.tls.profile) and np-deliver (tls_profile of each destination: the weak suite is "
		"offered only to a PACS that needs it) support these profiles of PS3.15 Annex B. Every profile "
		"negotiates TLS 1.2 or 1.3 only, never TLS 1.0 or 1.1, without compression or renegotiation; the "
		"server's order of suites applies. Key management: X.509 certificates and keys in PEM files "
		"(dicom.tls.cert_file, key_file; ca_file for client certificates with dicom.tls.verify_client; per "
		"destination tls_ca_file and an optional client certificate). When a TLS integrity check fails the "
		"connection is closed (A-P-ABORT); the reason is logged. Suites below are those OpenSSL enables for "
		"each profile; an RSA certificate is needed for the RSA and DHE-RSA suites, an ECDSA one for the "
		"ECDSA suites.");
	static const char *const h[] = {"Setting", "DICOM profile", "Cipher suites (IANA)", "Notes"};
	table(d, 4, h);
	for (int p = 0; p < NP_TLS_PROFILE_COUNT; p++) {
		char *s = profile_suites(p);
		char name[64];
		snprintf(name, sizeof name, "%s%s", np_tls_profiles[p].name, p == NP_TLS_BCP195 ? " (default)" : "");
		row(d, (const char *const[]){name, np_tls_profiles[p].dicom, s ? s : "", np_tls_profiles[p].why});
		free(s);
	}
	table_end(d);
	heading(d, 2, "7.2 Association Level Security");
	para(d, "np-recv can restrict calling AE titles (dicom.allowed_calling_aets), limits associations per "
		"address, and requires client certificates with dicom.tls.verify_client. Logs carry AE titles, "
		"addresses and counts, never patient data or the UIDs of received studies.");
	heading(d, 2, "7.3 De-identification");
	para(d,
	     "Instances leave the site only de-identified, by np-deid: %s. It applies the Basic Application "
	     "Confidentiality Profile of PS3.15 Annex E with the options below, sets Patient Identity Removed "
	     "(0012,0062) to YES, writes De-identification Method (0012,0063) and these codes (scheme DCM, CID "
	     "7050) into De-identification Method Code Sequence (0012,0064); UIDs are replaced by keyed "
	     "pseudonyms under 2.25. Nothing de-identified is sent back by DICOM: np-deliver's objects carry the "
	     "original study's identifiers, for the site's own PACS.",
	     NP_DEID_PROFILE);
	static const char *const h2[] = {"Code", "Meaning", "Written"};
	table(d, 3, h2);
	for (unsigned i = 0; i < np_deid_ncodes; i++)
		row(d, (const char *const[]){
			   np_deid_codes[i].code, np_deid_codes[i].meaning,
			   np_deid_codes[i].if_shift ? "when deid.date_handling is shift (the default)" : "always"});
	table_end(d);
}

static void head(struct doc *d)
{
	if (d->fmt == NP_CONF_MDOC) {
		fputs(".\\\" SPDX-License-Identifier: Apache-2.0\n"
		      ".\\\" Generated by np-conformance from the agent's tables; do not edit.\n"
		      ".Dd $Mdocdate$\n.Dt NP-CONFORMANCE 7\n.Os neuropacs-agent\n.Sh NAME\n.Nm np-conformance\n"
		      ".Nd DICOM Conformance Statement of neuropacs-agent\n",
		      d->f);
	} else {
		fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		      "<title>DICOM Conformance Statement: neuropacs-agent</title>\n<style>\n"
		      "body{font-family:system-ui,sans-serif;max-width:72em;margin:1em auto;padding:0 1em;color:#222}\n"
		      "table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #bbb;padding:.2em "
		      ".5em;text-align:left;vertical-align:top}th{background:#eee}\n</style></head><body>\n"
		      "<h1>DICOM Conformance Statement: neuropacs-agent ",
		      d->f);
		html_esc(d->f, NP_VERSION);
		fputs("</h1>\n", d->f);
	}
}

static void tail(struct doc *d)
{
	if (d->fmt == NP_CONF_MDOC)
		fputs(".Sh SEE ALSO\n.Xr np-conformance 1 ,\n.Xr np-deid 1 ,\n.Xr np-deliver 1 ,\n.Xr neuropacs.json 5 "
		      ",\n"
		      ".Xr np-recv 8\n",
		      d->f);
	heading(d, 1, "Standards");
	para(d, "DICOM PS3.2 (Conformance), PS3.4 (Service Class Specifications), PS3.7 (DIMSE), PS3.8 (Upper "
		"Layer), PS3.15 (Security: Annex B TLS profiles, Annex E de-identification); BCP 195 (RFC 9325).");
	if (d->fmt == NP_CONF_HTML)
		fputs("</body></html>\n", d->f);
}

int np_conformance_write(FILE *out, enum np_conf_format fmt)
{
	if (fmt == NP_CONF_JSON)
		return write_json(out);
	struct doc d = {.f = out, .fmt = fmt};
	head(&d);
	overview(&d);
	implementation_model(&d);
	heading(&d, 2, "4.2 Application Entity Specifications");
	scp_spec(&d);
	scu_spec(&d);
	network(&d);
	heading(&d, 1, "Media Interchange");
	para(&d, "Not supported.");
	charsets(&d);
	security(&d);
	tail(&d);
	return ferror(out) ? -1 : 0;
}
