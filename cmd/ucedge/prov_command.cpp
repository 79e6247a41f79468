#include "prov_command.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <map>

#include "app/config.hpp"
#include "core/config_table.hpp"
#include "core/metrics.hpp"
#include "core/secret_box.hpp"
#include "global_options.hpp"
#include "node_context.hpp"
#include "prov/activation.hpp"
#include "prov/codec/device_names.hpp"
#include "prov/device_directory.hpp"
#include "prov/profile_resolver.hpp"
#include "store/store.hpp"

namespace ucedge::cli {

namespace {

// What every prov sub-command needs: the node's data and its devices.
struct ProvContext : NodeContext {
  std::unique_ptr<prov::DeviceDirectory> devices;

  static ProvContext open(const GlobalOptions& options) {
    ProvContext c{NodeContext::open(options), nullptr};
    c.devices = std::make_unique<prov::DeviceDirectory>(*c.store, *c.secrets);
    if (auto loaded = c.devices->load(); !loaded) fail(loaded.error());
    return c;
  }
};

std::map<std::string, std::string> pairs(const std::vector<std::string>& items, const char* what) {
  std::map<std::string, std::string> out;
  for (const auto& item : items) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << what << " \"" << item << "\" must be NAME=VALUE\n";
      throw CLI::RuntimeError(2);
    }
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

prov::DevicePtr existing_or_exit(prov::DeviceDirectory& devices, const std::string& mac_text) {
  auto mac = prov::normalize_mac(mac_text);
  prov::DevicePtr d = mac ? devices.find(*mac) : nullptr;
  if (!d) {
    std::cerr << "no device " << mac_text << "\n";
    throw CLI::RuntimeError(1);
  }
  return d;
}

void add_device_commands(CLI::App& prov, const GlobalOptions& options) {
  auto* device = prov.add_subcommand("device", "Provisioned devices");
  device->require_subcommand(1);

  struct AddArgs {
    std::string mac;
    std::map<std::string, std::string> text;
    std::vector<std::string> gpp, vars, templates;
    bool update = false;
  };
  static AddArgs add_args;
  auto* add = device->add_subcommand("add", "Register a device, or change one with --update");
  add->add_option("MAC", add_args.mac, "MAC address in any usual form")->required();
  static const char* const text_fields[][2] = {
      {"--model", "Product name ($PN), e.g. CP-7841-3PCC"},
      {"--serial", "Serial number ($SN)"},
      {"--customer", "Customer: its sub-directory of the provisioning root"},
      {"--subscriber", "Subscriber the device belongs to"},
      {"--description", "Free text"},
      {"--profile-rule", "Profile rule handed out on activation and CGI resync"},
      {"--encoding", "none, gzip, aes or gzip+aes (default: the model's)"},
      {"--key-derivation", "md5, sha256 or pbkdf2 (default: the model's)"},
      {"--profile-key", "AES key of this device's profiles; may hold macros such as $B"},
      {"--sip-contact", "Where resync NOTIFYs go: udp:[user@]host[:port] or tcp:..."},
      {"--cgi-url", "The phone's web server for CGI/Execute resync, http://host[:port]"},
      {"--cgi-user", "The phone's admin user for CGI/Execute"},
      {"--cgi-password", "The phone's admin password for CGI/Execute"},
      {"--http-user", "User the device must present to fetch its files (--uid)"},
      {"--http-password", "Password the device must present (--pwd)"},
  };
  for (const auto& f : text_fields) {
    std::string name = f[0];
    add->add_option_function<std::string>(name, [name](const std::string& v) { add_args.text[name] = v; }, f[1]);
  }
  add->add_option("--gpp", add_args.gpp, "General purpose parameter, A=value (GPP_A..GPP_P); repeatable");
  add->add_option("--var", add_args.vars, "Device variable for $NAME macros and %NAME% tags, NAME=value; repeatable");
  add->add_option("--template", add_args.templates, "Assigned template, FILE=TEMPLATE (relative to the root)");
  add->add_flag("--update", add_args.update, "Change an existing device instead of refusing it");
  add->callback([&options] {
    auto c = ProvContext::open(options);
    prov::DeviceInput in;
    auto text = [](const char* name) -> std::optional<std::string> {
      auto it = add_args.text.find(name);
      return it == add_args.text.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    in.model = text("--model");
    in.serial = text("--serial");
    in.customer = text("--customer");
    in.subscriber = text("--subscriber");
    in.description = text("--description");
    in.profile_rule = text("--profile-rule");
    in.encoding = text("--encoding");
    in.key_derivation = text("--key-derivation");
    in.profile_key = text("--profile-key");
    in.sip_contact = text("--sip-contact");
    in.cgi_url = text("--cgi-url");
    in.cgi_username = text("--cgi-user");
    in.cgi_password = text("--cgi-password");
    in.http_username = text("--http-user");
    in.http_password = text("--http-password");
    if (!add_args.gpp.empty()) in.gpp = pairs(add_args.gpp, "--gpp");
    if (!add_args.vars.empty()) in.variables = pairs(add_args.vars, "--var");
    if (!add_args.templates.empty()) in.templates = pairs(add_args.templates, "--template");
    auto put = c.devices->put(add_args.mac, in, !add_args.update);
    if (!put) {
      std::cerr << put.error() << "\n";
      throw CLI::RuntimeError(1);
    }
    std::cout << (put->second == prov::DeviceDirectory::Outcome::created ? "added " : "updated ") << put->first->mac
              << "\n";
  });

  static std::string list_customer;
  static bool list_json = false;
  auto* list = device->add_subcommand("list", "List devices");
  list->add_option("--customer", list_customer, "Only this customer's devices");
  list->add_flag("--json", list_json, "One JSON document");
  list->callback([&options] {
    auto c = ProvContext::open(options);
    auto devices = c.devices->list(list_customer);
    if (list_json) {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& d : devices) j.push_back(prov::to_json(*d));
      std::cout << j.dump(2) << "\n";
      return;
    }
    for (const auto& d : devices) {
      std::cout << d->mac << "  " << (d->model.empty() ? "-" : d->model) << "  "
                << (d->customer.empty() ? "-" : d->customer) << "  " << (d->subscriber.empty() ? "-" : d->subscriber)
                << "\n";
    }
  });

  static std::string show_mac;
  auto* show = device->add_subcommand("show", "Show one device as JSON");
  show->add_option("MAC", show_mac, "MAC address")->required();
  show->callback([&options] {
    auto c = ProvContext::open(options);
    std::cout << prov::to_json(*existing_or_exit(*c.devices, show_mac)).dump(2) << "\n";
  });

  static std::string remove_mac;
  auto* remove = device->add_subcommand("remove", "Remove a device, its status and its reports");
  remove->add_option("MAC", remove_mac, "MAC address")->required();
  remove->callback([&options] {
    auto c = ProvContext::open(options);
    auto removed = c.devices->remove(remove_mac);
    if (!removed) {
      std::cerr << removed.error() << "\n";
      throw CLI::RuntimeError(1);
    }
    if (!*removed) {
      std::cerr << "no device " << remove_mac << "\n";
      throw CLI::RuntimeError(1);
    }
    std::cout << "removed " << *prov::normalize_mac(remove_mac) << "\n";
  });
}

void add_render_command(CLI::App& prov, const GlobalOptions& options) {
  static std::string mac, file;
  auto* render = prov.add_subcommand("render", "Print exactly what a device would receive for FILE");
  render->add_option("MAC", mac, "The device")->required();
  render->add_option("FILE", file, "The file name the device asks for, e.g. CP-7841-3PCC$MA.cfg expanded")->required();
  render->callback([&options] {
    auto c = ProvContext::open(options);
    auto device = existing_or_exit(*c.devices, mac);
    core::MetricsRegistry metrics;
    std::filesystem::path root = c.config.prov.root;
    if (!root.is_absolute()) root = c.config.data_dir / root;
    prov::ProfileResolver resolver(c.config.prov, root, *c.devices, metrics);
    auto result = resolver.preview(*device, file);
    if (result.status != 200) {
      std::cerr << file << ": " << result.status << " " << result.reason << "\n";
      throw CLI::RuntimeError(1);
    }
    std::cerr << "# " << result.source << " for " << device->mac << ", " << result.size << " bytes, "
              << result.content_type << "\n";
    if (result.body) {
      std::cout.write(result.body->data(), static_cast<std::streamsize>(result.body->size()));
    } else {
      std::ifstream in(*result.file, std::ios::binary);
      std::cout << in.rdbuf();
    }
    std::cout.flush();
  });
}

void add_code_commands(CLI::App& prov, const GlobalOptions& options) {
  auto* code = prov.add_subcommand("code", "Activation codes");
  code->require_subcommand(1);
  static std::string subscriber, device, customer, lifetime;
  auto* create = code->add_subcommand("create", "Create a 16-digit activation code (shown once)");
  create->add_option("--subscriber", subscriber, "Subscriber the phone will belong to");
  create->add_option("--device", device, "Only this device (MAC) may use it");
  create->add_option("--customer", customer, "Customer the phone will belong to");
  create->add_option("--lifetime", lifetime, "How long it stays valid, e.g. 7d or 12h (default [prov] setting)");
  create->callback([&options] {
    auto c = ProvContext::open(options);
    auto life = std::chrono::duration_cast<std::chrono::seconds>(c.config.prov.activation_code_lifetime);
    if (!lifetime.empty()) {
      auto parsed = core::parse_duration(lifetime);
      if (!parsed || *parsed < std::chrono::minutes(1)) {
        std::cerr << "--lifetime \"" << lifetime << "\" is not a duration of a minute or more\n";
        throw CLI::RuntimeError(2);
      }
      life = std::chrono::duration_cast<std::chrono::seconds>(*parsed);
    }
    std::string mac;
    if (!device.empty()) {
      auto m = prov::normalize_mac(device);
      if (!m) {
        std::cerr << "--device \"" << device << "\" is not a MAC address\n";
        throw CLI::RuntimeError(2);
      }
      mac = *m;
    }
    prov::ActivationCodes codes(*c.store, *c.secrets, c.config.prov.activation_failures_per_minute);
    auto created = codes.create(subscriber, mac, customer, life);
    if (!created) {
      std::cerr << created.error() << "\n";
      throw CLI::RuntimeError(1);
    }
    std::cout << created->code << "\n";
  });
}

}  // namespace

void add_prov_command(CLI::App& root, const GlobalOptions& options) {
  auto* prov = root.add_subcommand("prov", "Provisioning: devices, rendered profiles, activation codes");
  prov->require_subcommand(1);
  add_device_commands(*prov, options);
  add_render_command(*prov, options);
  add_code_commands(*prov, options);
}

}  // namespace ucedge::cli
