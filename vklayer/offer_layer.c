/*
 * VK_LAYER_XINIT_test_offer: a stand-in for a driver that offers more than the device
 * below it, for swapchain-test. Placed below VK_LAYER_XINIT_present, it adds
 * VK_KHR_present_wait, VK_KHR_present_id, VK_EXT_swapchain_maintenance1 and
 * VK_NV_low_latency2 to the device's extensions, reports their features as supported,
 * and takes the extensions out again at vkCreateDevice, so that the device below is
 * created without them. It reports one queue family more than the device has, with
 * none of the graphics, compute and transfer flags (never to be created: the app only
 * asks whether it can present). With XINIT_TEST_GPU_LATENCY_MS=N it plays a GPU that is late:
 * a fence submitted with vkQueueSubmit reads as unsignalled (vkGetFenceStatus,
 * vkWaitForFences) until N ms after its submission, however fast the driver below was.
 * It answers vkGetPhysicalDeviceSurfaceSupportKHR and the X presentation support
 * queries for its extra queue family itself (no). With XINIT_TEST_NO_PRESENT=1 it
 * plays NVIDIA's driver on an X server it does not drive: its surface queries answer
 * but vkGetPhysicalDeviceSurfacePresentModesKHR and vkCreateSwapchainKHR fail with
 * VK_ERROR_SURFACE_LOST_KHR. Without it, the driver below presents. With
 * XINIT_TEST_NO_IMPORT=1 it refuses every host pointer
 * (vkGetMemoryHostPointerPropertiesEXT: VK_ERROR_INVALID_EXTERNAL_HANDLE), as a driver
 * may refuse a MIT-SHM segment. With XINIT_TEST_VENDOR=N (e.g. 0x10de, NVIDIA's) the
 * device reports that vendor ID, and a call of its surface queries for present modes
 * or capabilities prints "VK_LAYER_XINIT_test_offer: surface queried" on stderr.
 * Each instance prints one line on stderr: proof it was loaded. It is a test tool:
 * nothing installs it.
 */
#define VK_USE_PLATFORM_XCB_KHR
#define VK_USE_PLATFORM_XLIB_KHR
#include <X11/Xlib.h>
#include <xcb/xcb.h>
#include <vulkan/vk_layer.h>
#include <vulkan/vulkan.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

static const char *const offered[] = {"VK_KHR_present_wait", "VK_KHR_present_id",
				      "VK_EXT_swapchain_maintenance1", "VK_NV_low_latency2"};
#define NOFFERED (sizeof offered / sizeof offered[0])

/* one instance at a time: enough for swapchain-test */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static PFN_vkGetInstanceProcAddr next_gipa;
static PFN_vkGetDeviceProcAddr next_gdpa;
static VkInstance instance;

/* the late GPU: when each fence submitted may read as signalled */
#define MAX_LATE 256
static uint64_t latency_ns;
static struct {
	VkFence fence;
	uint64_t ready;
} late[MAX_LATE];
static PFN_vkQueueSubmit next_submit;
static PFN_vkWaitForFences next_wait;
static PFN_vkGetFenceStatus next_status;

static uint64_t now_ns(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* ready_at says when fence may read as signalled (0: whenever the driver says). */
static uint64_t ready_at(VkFence fence) {
	uint64_t t = 0;
	pthread_mutex_lock(&lock);
	for (int k = 0; k < MAX_LATE; k++)
		if (late[k].fence == fence)
			t = late[k].ready;
	pthread_mutex_unlock(&lock);
	return t;
}

static VKAPI_ATTR VkResult VKAPI_CALL QueueSubmit(VkQueue q, uint32_t n, const VkSubmitInfo *si,
						  VkFence fence) {
	if (fence && latency_ns) {
		pthread_mutex_lock(&lock);
		int k = 0, free_slot = -1;
		while (k < MAX_LATE && late[k].fence != fence) {
			if (!late[k].fence && free_slot < 0)
				free_slot = k;
			k++;
		}
		if (k == MAX_LATE)
			k = free_slot;
		if (k >= 0) {
			late[k].fence = fence;
			late[k].ready = now_ns() + latency_ns;
		}
		pthread_mutex_unlock(&lock);
	}
	return next_submit(q, n, si, fence);
}

static VKAPI_ATTR VkResult VKAPI_CALL GetFenceStatus(VkDevice dev, VkFence fence) {
	if (ready_at(fence) > now_ns())
		return VK_NOT_READY;
	return next_status(dev, fence);
}

static VKAPI_ATTR VkResult VKAPI_CALL WaitForFences(VkDevice dev, uint32_t n, const VkFence *f,
						    VkBool32 all, uint64_t timeout) {
	uint64_t t0 = now_ns(), when = all ? 0 : UINT64_MAX;
	for (uint32_t k = 0; k < n; k++) {
		uint64_t r = ready_at(f[k]);
		when = all ? (r > when ? r : when) : (r < when ? r : when);
	}
	uint64_t end = timeout > UINT64_MAX - t0 ? UINT64_MAX : t0 + timeout;
	if (when > t0) {
		uint64_t until = when < end ? when : end;
		struct timespec ts = {(time_t)(until / 1000000000ull), (long)(until % 1000000000ull)};
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
			;
		if (when > end)
			return VK_TIMEOUT;
	}
	uint64_t t1 = now_ns();
	return next_wait(dev, n, f, all, end > t1 ? end - t1 : 0);
}

static void forget_fences(const VkFence *f, uint32_t n) {
	pthread_mutex_lock(&lock);
	for (uint32_t j = 0; j < n; j++)
		for (int k = 0; k < MAX_LATE; k++)
			if (late[k].fence == f[j])
				late[k].fence = VK_NULL_HANDLE;
	pthread_mutex_unlock(&lock);
}

static PFN_vkResetFences next_reset;
static PFN_vkDestroyFence next_destroy;

static VKAPI_ATTR VkResult VKAPI_CALL ResetFences(VkDevice dev, uint32_t n, const VkFence *f) {
	forget_fences(f, n);
	return next_reset(dev, n, f);
}

static VKAPI_ATTR void VKAPI_CALL DestroyFence(VkDevice dev, VkFence f,
					       const VkAllocationCallbacks *alloc) {
	forget_fences(&f, 1);
	next_destroy(dev, f, alloc);
}

/* the presenting driver, or one that cannot present (XINIT_TEST_NO_PRESENT) */
static PFN_vkGetPhysicalDeviceSurfaceSupportKHR next_support;
static PFN_vkGetPhysicalDeviceSurfacePresentModesKHR next_modes;
static PFN_vkGetPhysicalDeviceXcbPresentationSupportKHR next_xcb_support;
static PFN_vkGetPhysicalDeviceXlibPresentationSupportKHR next_xlib_support;
static PFN_vkCreateSwapchainKHR next_create_swapchain;
static PFN_vkGetPhysicalDeviceQueueFamilyProperties next_families;

/* real_families is how many queue families pd has below the stand-in's extra one */
static uint32_t real_families(VkPhysicalDevice pd) {
	uint32_t n = 0;
	next_families(pd, &n, NULL);
	return n;
}

static bool no_present(void) {
	const char *v = getenv("XINIT_TEST_NO_PRESENT");
	return v && strcmp(v, "1") == 0;
}

static VKAPI_ATTR VkResult VKAPI_CALL GetPhysicalDeviceSurfaceSupportKHR(VkPhysicalDevice pd,
									 uint32_t family,
									 VkSurfaceKHR surface,
									 VkBool32 *ok) {
	if (family >= real_families(pd)) {
		*ok = VK_FALSE;
		return VK_SUCCESS;
	}
	return next_support(pd, family, surface, ok);
}

static VKAPI_ATTR VkBool32 VKAPI_CALL GetPhysicalDeviceXcbPresentationSupportKHR(
    VkPhysicalDevice pd, uint32_t family, xcb_connection_t *c, xcb_visualid_t visual) {
	return family < real_families(pd) && next_xcb_support(pd, family, c, visual);
}

static VKAPI_ATTR VkBool32 VKAPI_CALL GetPhysicalDeviceXlibPresentationSupportKHR(
    VkPhysicalDevice pd, uint32_t family, Display *dpy, VisualID visual) {
	return family < real_families(pd) && next_xlib_support(pd, family, dpy, visual);
}

static PFN_vkGetPhysicalDeviceProperties next_props;
static PFN_vkGetPhysicalDeviceSurfaceCapabilitiesKHR next_caps;

static void queried(void) {
	static const char line[] = "VK_LAYER_XINIT_test_offer: surface queried\n";
	if (getenv("XINIT_TEST_VENDOR") && write(STDERR_FILENO, line, sizeof line - 1) < 0)
		return;
}

static VKAPI_ATTR void VKAPI_CALL GetPhysicalDeviceProperties(VkPhysicalDevice pd,
							      VkPhysicalDeviceProperties *p) {
	next_props(pd, p);
	const char *v = getenv("XINIT_TEST_VENDOR");
	if (v)
		p->vendorID = (uint32_t)strtoul(v, NULL, 0);
}

static VKAPI_ATTR VkResult VKAPI_CALL GetPhysicalDeviceSurfaceCapabilitiesKHR(
    VkPhysicalDevice pd, VkSurfaceKHR surface, VkSurfaceCapabilitiesKHR *caps) {
	queried();
	return next_caps(pd, surface, caps);
}

static VKAPI_ATTR VkResult VKAPI_CALL GetPhysicalDeviceSurfacePresentModesKHR(
    VkPhysicalDevice pd, VkSurfaceKHR surface, uint32_t *count, VkPresentModeKHR *modes) {
	queried();
	if (no_present())
		return VK_ERROR_SURFACE_LOST_KHR;
	return next_modes(pd, surface, count, modes);
}

static VKAPI_ATTR VkResult VKAPI_CALL CreateSwapchainKHR(VkDevice dev,
							 const VkSwapchainCreateInfoKHR *ci,
							 const VkAllocationCallbacks *alloc,
							 VkSwapchainKHR *out) {
	if (no_present())
		return VK_ERROR_SURFACE_LOST_KHR;
	return next_create_swapchain(dev, ci, alloc, out);
}

static PFN_vkGetMemoryHostPointerPropertiesEXT next_host_pointer;

static VKAPI_ATTR VkResult VKAPI_CALL GetMemoryHostPointerPropertiesEXT(
    VkDevice dev, VkExternalMemoryHandleTypeFlagBits type, const void *p,
    VkMemoryHostPointerPropertiesEXT *props) {
	const char *v = getenv("XINIT_TEST_NO_IMPORT");
	if (v && strcmp(v, "1") == 0)
		return VK_ERROR_INVALID_EXTERNAL_HANDLE;
	return next_host_pointer(dev, type, p, props);
}

static PFN_vkEnumerateDeviceExtensionProperties next_enum;
static PFN_vkGetPhysicalDeviceFeatures2 next_features2;
static PFN_vkGetPhysicalDeviceFeatures2KHR next_features2khr;
static PFN_vkVoidFunction next(const char *name) {
	pthread_mutex_lock(&lock);
	PFN_vkVoidFunction f = next_gipa ? next_gipa(instance, name) : NULL;
	pthread_mutex_unlock(&lock);
	return f;
}

static VKAPI_ATTR VkResult VKAPI_CALL CreateInstance(const VkInstanceCreateInfo *ci,
						     const VkAllocationCallbacks *alloc,
						     VkInstance *out) {
	VkLayerInstanceCreateInfo *link = (VkLayerInstanceCreateInfo *)ci->pNext;
	while (link && !(link->sType == VK_STRUCTURE_TYPE_LOADER_INSTANCE_CREATE_INFO &&
			 link->function == VK_LAYER_LINK_INFO))
		link = (VkLayerInstanceCreateInfo *)link->pNext;
	if (!link)
		return VK_ERROR_INITIALIZATION_FAILED;
	PFN_vkGetInstanceProcAddr gipa = link->u.pLayerInfo->pfnNextGetInstanceProcAddr;
	link->u.pLayerInfo = link->u.pLayerInfo->pNext;
	VkResult r = ((PFN_vkCreateInstance)gipa(NULL, "vkCreateInstance"))(ci, alloc, out);
	if (r != VK_SUCCESS)
		return r;
	/* the next functions now: asked later, the loader can answer with the chain's top */
	pthread_mutex_lock(&lock);
	next_gipa = gipa;
	instance = *out;
	next_enum = (PFN_vkEnumerateDeviceExtensionProperties)gipa(*out,
								     "vkEnumerateDeviceExtensionProperties");
	next_features2 = (PFN_vkGetPhysicalDeviceFeatures2)gipa(*out, "vkGetPhysicalDeviceFeatures2");
	next_features2khr =
	    (PFN_vkGetPhysicalDeviceFeatures2KHR)gipa(*out, "vkGetPhysicalDeviceFeatures2KHR");
	next_families = (PFN_vkGetPhysicalDeviceQueueFamilyProperties)gipa(
	    *out, "vkGetPhysicalDeviceQueueFamilyProperties");
	next_props = (PFN_vkGetPhysicalDeviceProperties)gipa(*out, "vkGetPhysicalDeviceProperties");
	next_caps = (PFN_vkGetPhysicalDeviceSurfaceCapabilitiesKHR)gipa(
	    *out, "vkGetPhysicalDeviceSurfaceCapabilitiesKHR");
	next_support = (PFN_vkGetPhysicalDeviceSurfaceSupportKHR)gipa(
	    *out, "vkGetPhysicalDeviceSurfaceSupportKHR");
	next_modes = (PFN_vkGetPhysicalDeviceSurfacePresentModesKHR)gipa(
	    *out, "vkGetPhysicalDeviceSurfacePresentModesKHR");
	next_xcb_support = (PFN_vkGetPhysicalDeviceXcbPresentationSupportKHR)gipa(
	    *out, "vkGetPhysicalDeviceXcbPresentationSupportKHR");
	next_xlib_support = (PFN_vkGetPhysicalDeviceXlibPresentationSupportKHR)gipa(
	    *out, "vkGetPhysicalDeviceXlibPresentationSupportKHR");
	pthread_mutex_unlock(&lock);
	const char *line = no_present() ? "VK_LAYER_XINIT_test_offer: offering present_wait, "
					  "present_id, swapchain_maintenance1, low_latency2; presenting "
					  "nothing\n"
					: "VK_LAYER_XINIT_test_offer: offering present_wait, present_id, "
					  "swapchain_maintenance1, low_latency2; the driver presents\n";
	if (write(STDERR_FILENO, line, strlen(line)) < 0)
		return VK_SUCCESS;
	return VK_SUCCESS;
}

static VKAPI_ATTR VkResult VKAPI_CALL EnumerateDeviceExtensionProperties(
    VkPhysicalDevice pd, const char *layer, uint32_t *count, VkExtensionProperties *out) {
	PFN_vkEnumerateDeviceExtensionProperties down = next_enum;
	if (layer)
		return down(pd, layer, count, out);
	uint32_t n = 0;
	VkResult r = down(pd, NULL, &n, NULL);
	if (r != VK_SUCCESS)
		return r;
	VkExtensionProperties *all = calloc(n + NOFFERED, sizeof *all);
	if (!all)
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	if ((r = down(pd, NULL, &n, all)) < 0) {
		free(all);
		return r;
	}
	for (uint32_t k = 0; k < NOFFERED; k++) {
		snprintf(all[n].extensionName, sizeof all[n].extensionName, "%s", offered[k]);
		all[n++].specVersion = 1;
	}
	if (!out) {
		*count = n;
		r = VK_SUCCESS;
	} else {
		r = *count < n ? VK_INCOMPLETE : VK_SUCCESS;
		if (*count > n)
			*count = n;
		memcpy(out, all, *count * sizeof *out);
	}
	free(all);
	return r;
}

static VKAPI_ATTR void VKAPI_CALL GetPhysicalDeviceQueueFamilyProperties(
    VkPhysicalDevice pd, uint32_t *count, VkQueueFamilyProperties *out) {
	uint32_t n = 0;
	next_families(pd, &n, NULL);
	if (!out) {
		*count = n + 1;
		return;
	}
	uint32_t m = *count;
	next_families(pd, &m, out);
	if (m == n && *count > n) {
		out[n] = (VkQueueFamilyProperties){.queueFlags = VK_QUEUE_SPARSE_BINDING_BIT,
						   .queueCount = 1};
		m++;
	}
	*count = m;
}

static void offer_features(VkPhysicalDeviceFeatures2 *f) {
	for (VkBaseOutStructure *p = f->pNext; p; p = p->pNext) {
		if (p->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PRESENT_WAIT_FEATURES_KHR)
			((VkPhysicalDevicePresentWaitFeaturesKHR *)p)->presentWait = VK_TRUE;
		else if (p->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PRESENT_ID_FEATURES_KHR)
			((VkPhysicalDevicePresentIdFeaturesKHR *)p)->presentId = VK_TRUE;
		else if (p->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SWAPCHAIN_MAINTENANCE_1_FEATURES_EXT)
			((VkPhysicalDeviceSwapchainMaintenance1FeaturesEXT *)p)->swapchainMaintenance1 =
			    VK_TRUE;
	}
}

static VKAPI_ATTR void VKAPI_CALL GetPhysicalDeviceFeatures2(VkPhysicalDevice pd,
							     VkPhysicalDeviceFeatures2 *f) {
	next_features2(pd, f);
	offer_features(f);
}

static VKAPI_ATTR void VKAPI_CALL GetPhysicalDeviceFeatures2KHR(VkPhysicalDevice pd,
								VkPhysicalDeviceFeatures2 *f) {
	next_features2khr(pd, f);
	offer_features(f);
}

static VKAPI_ATTR VkResult VKAPI_CALL CreateDevice(VkPhysicalDevice pd, const VkDeviceCreateInfo *ci,
						   const VkAllocationCallbacks *alloc,
						   VkDevice *out) {
	VkLayerDeviceCreateInfo *link = (VkLayerDeviceCreateInfo *)ci->pNext;
	while (link && !(link->sType == VK_STRUCTURE_TYPE_LOADER_DEVICE_CREATE_INFO &&
			 link->function == VK_LAYER_LINK_INFO))
		link = (VkLayerDeviceCreateInfo *)link->pNext;
	if (!link)
		return VK_ERROR_INITIALIZATION_FAILED;
	PFN_vkGetInstanceProcAddr gipa = link->u.pLayerInfo->pfnNextGetInstanceProcAddr;
	pthread_mutex_lock(&lock);
	next_gdpa = link->u.pLayerInfo->pfnNextGetDeviceProcAddr;
	pthread_mutex_unlock(&lock);
	link->u.pLayerInfo = link->u.pLayerInfo->pNext;
	const char **names = calloc(ci->enabledExtensionCount + 1, sizeof *names);
	if (!names)
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	uint32_t n = 0;
	for (uint32_t k = 0; k < ci->enabledExtensionCount; k++) {
		bool ours = false;
		for (uint32_t j = 0; j < NOFFERED; j++)
			ours |= strcmp(ci->ppEnabledExtensionNames[k], offered[j]) == 0;
		if (!ours)
			names[n++] = ci->ppEnabledExtensionNames[k];
	}
	VkDeviceCreateInfo dci = *ci;
	dci.enabledExtensionCount = n;
	dci.ppEnabledExtensionNames = names;
	pthread_mutex_lock(&lock);
	VkInstance inst = instance;
	pthread_mutex_unlock(&lock);
	VkResult r = ((PFN_vkCreateDevice)gipa(inst, "vkCreateDevice"))(pd, &dci, alloc, out);
	free(names);
	if (r != VK_SUCCESS)
		return r;
	const char *ms = getenv("XINIT_TEST_GPU_LATENCY_MS");
	pthread_mutex_lock(&lock);
	PFN_vkGetDeviceProcAddr gdpa = next_gdpa;
	latency_ns = ms ? strtoull(ms, NULL, 10) * 1000000ull : 0;
	next_submit = (PFN_vkQueueSubmit)gdpa(*out, "vkQueueSubmit");
	next_wait = (PFN_vkWaitForFences)gdpa(*out, "vkWaitForFences");
	next_status = (PFN_vkGetFenceStatus)gdpa(*out, "vkGetFenceStatus");
	next_reset = (PFN_vkResetFences)gdpa(*out, "vkResetFences");
	next_destroy = (PFN_vkDestroyFence)gdpa(*out, "vkDestroyFence");
	next_create_swapchain = (PFN_vkCreateSwapchainKHR)gdpa(*out, "vkCreateSwapchainKHR");
	next_host_pointer = (PFN_vkGetMemoryHostPointerPropertiesEXT)gdpa(
	    *out, "vkGetMemoryHostPointerPropertiesEXT");
	pthread_mutex_unlock(&lock);
	return VK_SUCCESS;
}

#define FN(n)                                                                                  \
	if (strcmp(name, "vk" #n) == 0)                                                        \
		return (PFN_vkVoidFunction)n;

static VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL offer_GetDeviceProcAddr(VkDevice dev,
									 const char *name) {
	if (strcmp(name, "vkGetDeviceProcAddr") == 0)
		return (PFN_vkVoidFunction)offer_GetDeviceProcAddr;
	FN(QueueSubmit)
	FN(WaitForFences)
	FN(GetFenceStatus)
	FN(ResetFences)
	FN(DestroyFence)
	FN(CreateSwapchainKHR)
	FN(GetMemoryHostPointerPropertiesEXT)
	pthread_mutex_lock(&lock);
	PFN_vkGetDeviceProcAddr gdpa = next_gdpa;
	pthread_mutex_unlock(&lock);
	return gdpa ? gdpa(dev, name) : NULL;
}

static VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL offer_GetInstanceProcAddr(VkInstance inst,
									   const char *name) {
	FN(CreateInstance)
	FN(CreateDevice)
	FN(EnumerateDeviceExtensionProperties)
	FN(GetPhysicalDeviceFeatures2)
	FN(GetPhysicalDeviceFeatures2KHR)
	FN(GetPhysicalDeviceQueueFamilyProperties)
	FN(GetPhysicalDeviceProperties)
	FN(GetPhysicalDeviceSurfaceCapabilitiesKHR)
	FN(GetPhysicalDeviceSurfaceSupportKHR)
	FN(GetPhysicalDeviceSurfacePresentModesKHR)
	FN(GetPhysicalDeviceXcbPresentationSupportKHR)
	FN(GetPhysicalDeviceXlibPresentationSupportKHR)
	FN(CreateSwapchainKHR)
	FN(QueueSubmit)
	FN(WaitForFences)
	FN(GetFenceStatus)
	FN(ResetFences)
	FN(DestroyFence)
	if (strcmp(name, "vkGetInstanceProcAddr") == 0)
		return (PFN_vkVoidFunction)offer_GetInstanceProcAddr;
	if (strcmp(name, "vkGetDeviceProcAddr") == 0)
		return (PFN_vkVoidFunction)offer_GetDeviceProcAddr;
	(void)inst;
	return next(name);
}

EXPORT VKAPI_ATTR VkResult VKAPI_CALL
vkNegotiateLoaderLayerInterfaceVersion(VkNegotiateLayerInterface *v) {
	if (v->loaderLayerInterfaceVersion < 2)
		return VK_ERROR_INITIALIZATION_FAILED;
	v->loaderLayerInterfaceVersion = 2;
	v->pfnGetInstanceProcAddr = offer_GetInstanceProcAddr;
	v->pfnGetDeviceProcAddr = offer_GetDeviceProcAddr;
	v->pfnGetPhysicalDeviceProcAddr = NULL;
	return VK_SUCCESS;
}
