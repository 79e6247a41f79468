#include "prov/sample.hpp"

#include "core/atomic_file.hpp"

namespace ucedge::prov {

namespace {

struct SampleFile {
  std::string_view name;
  std::string_view text;
};

// Static files are served as they are; ".tmpl" files and names holding
// macros ($MA, $PSN, ...) are templates rendered per device.
constexpr SampleFile kFiles[] = {
    {"basic.txt", "<flat-profile>\n  <GPP_A ua=\"na\">12345678</GPP_A>\n</flat-profile>\n"},
    {"basic2.txt", "<flat-profile>\n  <GPP_B ua=\"na\">ABCD</GPP_B>\n</flat-profile>\n"},
    {"CP-7841-3PCC$MA.cfg",
     "<flat-profile>\n"
     "  <!-- Per-device profile: each phone asks for this file under its own MAC address. -->\n"
     "  <GPP_A ua=\"na\">$A</GPP_A>\n"
     "  <Station_Name ua=\"na\">$PN $MAC</Station_Name>\n"
     "  <Profile_Rule ua=\"na\">$SCHEME://$SERV:$PORT/prov/CP-7841-3PCC$MA.cfg</Profile_Rule>\n"
     "  <Profile_Rule_B ua=\"na\">$SCHEME://$SERV:$PORT/prov/basic2.txt</Profile_Rule_B>\n"
     "  <Resync_Periodic ua=\"na\">3600</Resync_Periodic>\n"
     "  <Log_Request_Msg ua=\"na\">$PN $MAC -- Requesting resync $SCHEME://$SERVIP:$PORT$PATH</Log_Request_Msg>\n"
     "  <Log_Success_Msg ua=\"na\">$PN $MAC -- Successful resync $SCHEME://$SERVIP:$PORT$PATH</Log_Success_Msg>\n"
     "  <Log_Failure_Msg ua=\"na\">$PN $MAC -- Resync failed: $ERR</Log_Failure_Msg>\n"
     "</flat-profile>\n"},
    {"$MA.xml.tmpl",
     "<flat-profile>\n"
     "  <GPP_A ua=\"na\">$A</GPP_A>\n"
     "  <GPP_B ua=\"na\">$B</GPP_B>\n"
     "  <Display_Name_1_ ua=\"rw\">$(DISPLAY_NAME)</Display_Name_1_>\n"
     "  <Syslog_Server ua=\"na\">$SERVIP:5514</Syslog_Server>\n"
     "</flat-profile>\n"},
    {"reflect.xml.tmpl",
     "<flat-profile>\n"
     "  <!-- The seed's reflector: what the device certificate says about the phone. -->\n"
     "  <GPP_D ua=\"na\">OU=$(CERT_OU), L=$(CERT_L), S=$(CERT_S), CN=$(CERT_CN)</GPP_D>\n"
     "</flat-profile>\n"},
    {"dtaf/config-wxt.xml.tmpl",
     "<config>\n"
     "  <protocols><xsi><paths>\n"
     "    <root>%XSI_ROOT_WXT%</root>\n"
     "    <actions>%XSI_ACTIONS_PATH_WXT%</actions>\n"
     "    <events>%XSI_EVENTS_PATH_WXT%</events>\n"
     "  </paths></xsi></protocols>\n"
     "</config>\n"},
};

}  // namespace

core::Result<void> install_sample(const std::filesystem::path& root, DeviceDirectory& devices) {
  std::error_code ec;
  std::filesystem::create_directories(root / "dtaf", ec);
  if (ec) return core::fail("cannot create " + (root / "dtaf").string() + ": " + ec.message());
  std::filesystem::create_directories(root / "reports", ec);
  for (const auto& f : kFiles) {
    auto written = core::write_file_atomically(root / f.name, std::string(f.text), 0644, core::Overwrite::replace);
    if (!written) return core::fail("cannot write the sample " + std::string(f.name) + ": " + written.error());
  }
  DeviceInput d;
  d.model = "CP-7841-3PCC";
  d.serial = "88012BA01234";
  d.description = "sample device: try curl -A 'Cisco-CP-7841-3PCC/11.0 (000e08abcdef)' "
                  "http://localhost:8080/prov/000e08abcdef.xml";
  d.gpp = std::map<std::string, std::string>{{"A", "12345678"}, {"B", "Dj6Lmp23Q"}};
  d.variables = std::map<std::string, std::string>{{"DISPLAY_NAME", "Sample Phone"},
                                                   {"XSI_ROOT_WXT", "https://xsp.example.com"},
                                                   {"XSI_ACTIONS_PATH_WXT", "/com.broadsoft.xsi-actions/"},
                                                   {"XSI_EVENTS_PATH_WXT", "/com.broadsoft.xsi-events/"}};
  d.templates = std::map<std::string, std::string>{{"config-wxt.xml", "dtaf/config-wxt.xml.tmpl"}};
  auto put = devices.put(kSampleMac, d);
  if (!put) return core::fail("cannot register the sample device: " + put.error());
  return {};
}

}  // namespace ucedge::prov
