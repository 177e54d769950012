/* SPDX-License-Identifier: MIT */
#ifndef CORDON_PROXY_OSSL_H
#define CORDON_PROXY_OSSL_H

/*
 * OpenSSL's TLS and X.509 functions, from the system's libssl.so.3 (and
 * the libcrypto.so.3 it pulls in), loaded the first time they are needed.
 * cordon links libcrypto statically for SHA-256 alone; linking libssl
 * would bring the whole of both libraries into every start (20 000
 * relocations, about 100 more page faults for `cordon run -- true`),
 * though only sessions that intercept TLS use them. Include this header
 * (after nothing else from OpenSSL) in the files that call OpenSSL: each
 * function below is then called through px_ossl, which px_ossl_load fills.
 * Objects from the loaded library must never reach the static copy, and
 * the reverse: no other OpenSSL call may appear in those files (checked:
 * their objects have no undefined OpenSSL symbols).
 */
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/err.h"

#define PX_OSSL_FUNCS(X)                                                                           \
	X(ASN1_OBJECT_free)                                                                        \
	X(ASN1_TIME_compare)                                                                       \
	X(ASN1_TIME_print)                                                                         \
	X(BIO_ctrl)                                                                                \
	X(BIO_ctrl_pending)                                                                        \
	X(BIO_free)                                                                                \
	X(BIO_new)                                                                                 \
	X(BIO_new_file)                                                                            \
	X(BIO_new_mem_buf)                                                                         \
	X(BIO_new_socket)                                                                          \
	X(BIO_read)                                                                                \
	X(BIO_s_mem)                                                                               \
	X(BIO_write)                                                                               \
	X(BN_bin2bn)                                                                               \
	X(BN_free)                                                                                 \
	X(BN_to_ASN1_INTEGER)                                                                      \
	X(ERR_clear_error)                                                                         \
	X(ERR_get_error)                                                                           \
	X(ERR_peek_error)                                                                          \
	X(ERR_reason_error_string)                                                                 \
	X(EVP_PKEY_Q_keygen)                                                                       \
	X(EVP_PKEY_free)                                                                           \
	X(EVP_sha256)                                                                              \
	X(OBJ_obj2nid)                                                                             \
	X(OBJ_txt2obj)                                                                             \
	X(OPENSSL_cleanse)                                                                         \
	X(OPENSSL_sk_free)                                                                         \
	X(OPENSSL_sk_new_null)                                                                     \
	X(OPENSSL_sk_num)                                                                          \
	X(OPENSSL_sk_pop_free)                                                                     \
	X(OPENSSL_sk_push)                                                                         \
	X(OPENSSL_sk_set)                                                                          \
	X(OPENSSL_sk_value)                                                                        \
	X(PEM_read_bio_PrivateKey)                                                                 \
	X(PEM_read_bio_X509)                                                                       \
	X(PEM_write_bio_PrivateKey)                                                                \
	X(PEM_write_bio_X509)                                                                      \
	X(PKCS12_SAFEBAG_create_cert)                                                              \
	X(PKCS12_SAFEBAG_free)                                                                     \
	X(PKCS12_SAFEBAG_get_bag_nid)                                                              \
	X(PKCS12_SAFEBAG_get_nid)                                                                  \
	X(PKCS12_add1_attr_by_txt)                                                                 \
	X(PKCS12_add_friendlyname_utf8)                                                            \
	X(PKCS12_add_safe)                                                                         \
	X(PKCS12_add_safes)                                                                        \
	X(PKCS12_free)                                                                             \
	X(PKCS12_set_mac)                                                                          \
	X(PKCS12_unpack_authsafes)                                                                 \
	X(PKCS12_unpack_p7data)                                                                    \
	X(PKCS12_unpack_p7encdata)                                                                 \
	X(PKCS7_free)                                                                              \
	X(RAND_bytes)                                                                              \
	X(SSL_CTX_callback_ctrl)                                                                   \
	X(SSL_CTX_ctrl)                                                                            \
	X(SSL_CTX_free)                                                                            \
	X(SSL_CTX_new)                                                                             \
	X(SSL_CTX_set_alpn_protos)                                                                 \
	X(SSL_CTX_set_alpn_select_cb)                                                              \
	X(SSL_CTX_set_default_verify_paths)                                                        \
	X(SSL_CTX_set_num_tickets)                                                                 \
	X(SSL_CTX_set_options)                                                                     \
	X(SSL_CTX_set_verify)                                                                      \
	X(SSL_ctrl)                                                                                \
	X(SSL_do_handshake)                                                                        \
	X(SSL_free)                                                                                \
	X(SSL_get0_param)                                                                          \
	X(SSL_get_error)                                                                           \
	X(SSL_get_ex_data)                                                                         \
	X(SSL_get_servername)                                                                      \
	X(SSL_get_verify_result)                                                                   \
	X(SSL_new)                                                                                 \
	X(SSL_read)                                                                                \
	X(SSL_select_next_proto)                                                                   \
	X(SSL_set1_host)                                                                           \
	X(SSL_set_accept_state)                                                                    \
	X(SSL_set_bio)                                                                             \
	X(SSL_set_connect_state)                                                                   \
	X(SSL_set_ex_data)                                                                         \
	X(SSL_set_fd)                                                                              \
	X(SSL_shutdown)                                                                            \
	X(SSL_use_PrivateKey)                                                                      \
	X(SSL_use_certificate)                                                                     \
	X(SSL_write)                                                                               \
	X(TLS_client_method)                                                                       \
	X(TLS_server_method)                                                                       \
	X(X509V3_EXT_conf_nid)                                                                     \
	X(X509V3_set_ctx)                                                                          \
	X(X509_EXTENSION_free)                                                                     \
	X(X509_NAME_add_entry_by_txt)                                                              \
	X(X509_NAME_oneline)                                                                       \
	X(X509_VERIFY_PARAM_set1_ip_asc)                                                           \
	X(X509_add_ext)                                                                            \
	X(X509_check_private_key)                                                                  \
	X(X509_cmp_current_time)                                                                   \
	X(X509_digest)                                                                             \
	X(X509_free)                                                                               \
	X(X509_get0_notAfter)                                                                      \
	X(X509_get0_notBefore)                                                                     \
	X(X509_get_serialNumber)                                                                   \
	X(X509_get_subject_name)                                                                   \
	X(X509_getm_notAfter)                                                                      \
	X(X509_getm_notBefore)                                                                     \
	X(X509_gmtime_adj)                                                                         \
	X(X509_new)                                                                                \
	X(X509_set1_notAfter)                                                                      \
	X(X509_set_issuer_name)                                                                    \
	X(X509_set_pubkey)                                                                         \
	X(X509_set_version)                                                                        \
	X(X509_sign)                                                                               \
	X(X509_time_adj_ex)                                                                        \
	X(X509_verify_cert_error_string)                                                           \
	X(d2i_PKCS12)                                                                              \
	X(d2i_X509)                                                                                \
	X(i2d_PKCS12)

#define PX_OSSL_MEMBER(name) __typeof__(name) *name;

struct px_ossl {
	int loaded;
	PX_OSSL_FUNCS(PX_OSSL_MEMBER)
};

extern struct px_ossl px_ossl;

/*
 * Load libssl.so.3 once (later calls return at once). 0, or -1 with err
 * (the library is missing or too old) and a hint. Not safe after fork.
 */
int px_ossl_load(struct cordon_err *err);

#ifndef PX_OSSL_IMPL
#define ASN1_OBJECT_free                 (px_ossl.ASN1_OBJECT_free)
#define ASN1_TIME_compare                (px_ossl.ASN1_TIME_compare)
#define ASN1_TIME_print                  (px_ossl.ASN1_TIME_print)
#define BIO_ctrl                         (px_ossl.BIO_ctrl)
#define BIO_ctrl_pending                 (px_ossl.BIO_ctrl_pending)
#define BIO_free                         (px_ossl.BIO_free)
#define BIO_new                          (px_ossl.BIO_new)
#define BIO_new_file                     (px_ossl.BIO_new_file)
#define BIO_new_mem_buf                  (px_ossl.BIO_new_mem_buf)
#define BIO_new_socket                   (px_ossl.BIO_new_socket)
#define BIO_read                         (px_ossl.BIO_read)
#define BIO_s_mem                        (px_ossl.BIO_s_mem)
#define BIO_write                        (px_ossl.BIO_write)
#define BN_bin2bn                        (px_ossl.BN_bin2bn)
#define BN_free                          (px_ossl.BN_free)
#define BN_to_ASN1_INTEGER               (px_ossl.BN_to_ASN1_INTEGER)
#define ERR_clear_error                  (px_ossl.ERR_clear_error)
#define ERR_get_error                    (px_ossl.ERR_get_error)
#define ERR_peek_error                   (px_ossl.ERR_peek_error)
#define ERR_reason_error_string          (px_ossl.ERR_reason_error_string)
#define EVP_PKEY_Q_keygen                (px_ossl.EVP_PKEY_Q_keygen)
#define EVP_PKEY_free                    (px_ossl.EVP_PKEY_free)
#define EVP_sha256                       (px_ossl.EVP_sha256)
#define OBJ_obj2nid                      (px_ossl.OBJ_obj2nid)
#define OBJ_txt2obj                      (px_ossl.OBJ_txt2obj)
#define OPENSSL_cleanse                  (px_ossl.OPENSSL_cleanse)
#define OPENSSL_sk_free                  (px_ossl.OPENSSL_sk_free)
#define OPENSSL_sk_new_null              (px_ossl.OPENSSL_sk_new_null)
#define OPENSSL_sk_num                   (px_ossl.OPENSSL_sk_num)
#define OPENSSL_sk_pop_free              (px_ossl.OPENSSL_sk_pop_free)
#define OPENSSL_sk_push                  (px_ossl.OPENSSL_sk_push)
#define OPENSSL_sk_set                   (px_ossl.OPENSSL_sk_set)
#define OPENSSL_sk_value                 (px_ossl.OPENSSL_sk_value)
#define PEM_read_bio_PrivateKey          (px_ossl.PEM_read_bio_PrivateKey)
#define PEM_read_bio_X509                (px_ossl.PEM_read_bio_X509)
#define PEM_write_bio_PrivateKey         (px_ossl.PEM_write_bio_PrivateKey)
#define PEM_write_bio_X509               (px_ossl.PEM_write_bio_X509)
#define PKCS12_SAFEBAG_create_cert       (px_ossl.PKCS12_SAFEBAG_create_cert)
#define PKCS12_SAFEBAG_free              (px_ossl.PKCS12_SAFEBAG_free)
#define PKCS12_SAFEBAG_get_bag_nid       (px_ossl.PKCS12_SAFEBAG_get_bag_nid)
#define PKCS12_SAFEBAG_get_nid           (px_ossl.PKCS12_SAFEBAG_get_nid)
#define PKCS12_add1_attr_by_txt          (px_ossl.PKCS12_add1_attr_by_txt)
#define PKCS12_add_friendlyname_utf8     (px_ossl.PKCS12_add_friendlyname_utf8)
#define PKCS12_add_safe                  (px_ossl.PKCS12_add_safe)
#define PKCS12_add_safes                 (px_ossl.PKCS12_add_safes)
#define PKCS12_free                      (px_ossl.PKCS12_free)
#define PKCS12_set_mac                   (px_ossl.PKCS12_set_mac)
#define PKCS12_unpack_authsafes          (px_ossl.PKCS12_unpack_authsafes)
#define PKCS12_unpack_p7data             (px_ossl.PKCS12_unpack_p7data)
#define PKCS12_unpack_p7encdata          (px_ossl.PKCS12_unpack_p7encdata)
#define PKCS7_free                       (px_ossl.PKCS7_free)
#define RAND_bytes                       (px_ossl.RAND_bytes)
#define SSL_CTX_callback_ctrl            (px_ossl.SSL_CTX_callback_ctrl)
#define SSL_CTX_ctrl                     (px_ossl.SSL_CTX_ctrl)
#define SSL_CTX_free                     (px_ossl.SSL_CTX_free)
#define SSL_CTX_new                      (px_ossl.SSL_CTX_new)
#define SSL_CTX_set_alpn_protos          (px_ossl.SSL_CTX_set_alpn_protos)
#define SSL_CTX_set_alpn_select_cb       (px_ossl.SSL_CTX_set_alpn_select_cb)
#define SSL_CTX_set_default_verify_paths (px_ossl.SSL_CTX_set_default_verify_paths)
#define SSL_CTX_set_num_tickets          (px_ossl.SSL_CTX_set_num_tickets)
#define SSL_CTX_set_options              (px_ossl.SSL_CTX_set_options)
#define SSL_CTX_set_verify               (px_ossl.SSL_CTX_set_verify)
#define SSL_ctrl                         (px_ossl.SSL_ctrl)
#define SSL_do_handshake                 (px_ossl.SSL_do_handshake)
#define SSL_free                         (px_ossl.SSL_free)
#define SSL_get0_param                   (px_ossl.SSL_get0_param)
#define SSL_get_error                    (px_ossl.SSL_get_error)
#define SSL_get_ex_data                  (px_ossl.SSL_get_ex_data)
#define SSL_get_servername               (px_ossl.SSL_get_servername)
#define SSL_get_verify_result            (px_ossl.SSL_get_verify_result)
#define SSL_new                          (px_ossl.SSL_new)
#define SSL_read                         (px_ossl.SSL_read)
#define SSL_select_next_proto            (px_ossl.SSL_select_next_proto)
#define SSL_set1_host                    (px_ossl.SSL_set1_host)
#define SSL_set_accept_state             (px_ossl.SSL_set_accept_state)
#define SSL_set_bio                      (px_ossl.SSL_set_bio)
#define SSL_set_connect_state            (px_ossl.SSL_set_connect_state)
#define SSL_set_ex_data                  (px_ossl.SSL_set_ex_data)
#define SSL_set_fd                       (px_ossl.SSL_set_fd)
#define SSL_shutdown                     (px_ossl.SSL_shutdown)
#define SSL_use_PrivateKey               (px_ossl.SSL_use_PrivateKey)
#define SSL_use_certificate              (px_ossl.SSL_use_certificate)
#define SSL_write                        (px_ossl.SSL_write)
#define TLS_client_method                (px_ossl.TLS_client_method)
#define TLS_server_method                (px_ossl.TLS_server_method)
#define X509V3_EXT_conf_nid              (px_ossl.X509V3_EXT_conf_nid)
#define X509V3_set_ctx                   (px_ossl.X509V3_set_ctx)
#define X509_EXTENSION_free              (px_ossl.X509_EXTENSION_free)
#define X509_NAME_add_entry_by_txt       (px_ossl.X509_NAME_add_entry_by_txt)
#define X509_NAME_oneline                (px_ossl.X509_NAME_oneline)
#define X509_VERIFY_PARAM_set1_ip_asc    (px_ossl.X509_VERIFY_PARAM_set1_ip_asc)
#define X509_add_ext                     (px_ossl.X509_add_ext)
#define X509_check_private_key           (px_ossl.X509_check_private_key)
#define X509_cmp_current_time            (px_ossl.X509_cmp_current_time)
#define X509_digest                      (px_ossl.X509_digest)
#define X509_free                        (px_ossl.X509_free)
#define X509_get0_notAfter               (px_ossl.X509_get0_notAfter)
#define X509_get0_notBefore              (px_ossl.X509_get0_notBefore)
#define X509_get_serialNumber            (px_ossl.X509_get_serialNumber)
#define X509_get_subject_name            (px_ossl.X509_get_subject_name)
#define X509_getm_notAfter               (px_ossl.X509_getm_notAfter)
#define X509_getm_notBefore              (px_ossl.X509_getm_notBefore)
#define X509_gmtime_adj                  (px_ossl.X509_gmtime_adj)
#define X509_new                         (px_ossl.X509_new)
#define X509_set1_notAfter               (px_ossl.X509_set1_notAfter)
#define X509_set_issuer_name             (px_ossl.X509_set_issuer_name)
#define X509_set_pubkey                  (px_ossl.X509_set_pubkey)
#define X509_set_version                 (px_ossl.X509_set_version)
#define X509_sign                        (px_ossl.X509_sign)
#define X509_time_adj_ex                 (px_ossl.X509_time_adj_ex)
#define X509_verify_cert_error_string    (px_ossl.X509_verify_cert_error_string)
#define d2i_PKCS12                       (px_ossl.d2i_PKCS12)
#define d2i_X509                         (px_ossl.d2i_X509)
#define i2d_PKCS12                       (px_ossl.i2d_PKCS12)
#endif

#endif
