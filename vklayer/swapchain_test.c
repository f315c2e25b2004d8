/*
 * swapchain-test: drives a swapchain on $DISPLAY the way games do and checks what lands
 * in the window, to test VK_LAYER_XINIT_present (enable it with VK_INSTANCE_LAYERS).
 *
 *   swapchain-test [xcb|xlib|late|passthrough|attack|killed]
 *
 * It clears the swapchain's images to known colours and reads the window's pixels back
 * from the X server; checks that acquire signals its fence, that acquire with timeout 0
 * says VK_NOT_READY when the app holds every image it may, that a resized window makes
 * acquire or present report VK_ERROR_OUT_OF_DATE_KHR (or VK_SUBOPTIMAL_KHR) and
 * the capabilities the new size, that a swapchain recreated with oldSwapchain and one
 * destroyed and created anew both show their frames, in FIFO and in MAILBOX mode, that
 * the old swapchain's frames go on (VK_SUBOPTIMAL_KHR) in a resized window until the
 * app recreates it, that a swapchain made with the app's allocator gives back all it
 * took, that destroying the device with a swapchain alive is survived, and
 * that frames go on while a second thread submits on the queue (the app's threads
 * guard the queue with a lock, and acquire, which takes no queue, runs outside it: a
 * layer that used the queue in acquire shows as THREADING errors of the validation
 * layer below it). It checks that the device offers no extension or feature that would
 * hand the layer's swapchains to the driver (VK_KHR_present_wait, VK_KHR_present_id,
 * VK_EXT_swapchain_maintenance1, VK_NV_low_latency2: VK_LAYER_XINIT_test_offer below the
 * layer offers them) and that vkCreateDevice refuses them.
 * With "late" it runs only MAILBOX and IMMEDIATE with a GPU that is late (it needs
 * VK_LAYER_XINIT_test_offer below the layer and XINIT_TEST_GPU_LATENCY_MS) and checks
 * that the window keeps changing. With "passthrough" (an XCB window, a driver that
 * presents by itself below the layer) it checks that the driver's swapchain extensions
 * are offered as the driver offers them, and runs the same frames as xcb through the
 * driver's own swapchains. Where it breaks a rule on purpose (an acquire on a retired
 * swapchain, destroying the device with a swapchain alive) it says so on stdout before
 * and after, with the validation message that rule has. Prints what failed and exits 1; prints "swapchain-test: ok, N swapchains created" and
 * exits 0, so a caller can match N against the lines the layer printed for this process.
 *
 * With "attack" (VK_LAYER_XINIT_test_offer below the layer, XINIT_TEST_NO_PRESENT=1) it
 * uses the API in legal ways that once reached past the layer: it draws frames into
 * images of its own bound to the swapchain's (VkImageSwapchainCreateInfoKHR,
 * VkBindImageMemorySwapchainInfoKHR), names a swapchain with VK_EXT_debug_utils, presents in one vkQueuePresentKHR a swapchain the driver
 * presents (a window made while XINIT_TEST_NO_PRESENT is unset) and one the layer
 * copies, shows frames in windows of 1x1, 4097x3 and 3x701 beside another, destroys a
 * window under its swapchain (VK_ERROR_SURFACE_LOST_KHR, no X error in its event
 * queue), recreates 40 swapchains (their segments removed at once and gone after), and
 * has another client grab the X server, which then serves no other client: presents
 * return, acquire keeps its timeout, frames come again after. With "killed" it runs
 * itself as "recreate" (a Vulkan 1.0 app that enables the host import's extensions
 * itself and recreates swapchains until killed) and kills it while the X server is
 * grabbed, 12 times: none of the segments it made may outlive it.
 */
#define VK_USE_PLATFORM_XCB_KHR
#define VK_USE_PLATFORM_XLIB_KHR
#include <X11/Xlib-xcb.h>
#include <vulkan/vulkan.h>
#include <xcb/xcb.h>

#include <execinfo.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(cond, ...)                                                                       \
	do {                                                                                   \
		if (!(cond)) {                                                                 \
			fprintf(stderr, "swapchain-test: line %d: ", __LINE__);                \
			fprintf(stderr, __VA_ARGS__);                                          \
			fputc('\n', stderr);                                                   \
			exit(1);                                                               \
		}                                                                              \
	} while (0)
#define VK(call)                                                                               \
	do {                                                                                   \
		VkResult r_ = (call);                                                          \
		CHECK(r_ == VK_SUCCESS, "%s: VkResult %d", #call, r_);                         \
	} while (0)

static xcb_connection_t *conn;
static xcb_window_t win;
static VkInstance inst;
static VkPhysicalDevice pd;
static VkDevice dev;
static VkQueue queue;
static uint32_t family;
static VkSurfaceKHR surface;
static VkCommandPool pool;
static VkCommandBuffer cmd;
static VkSemaphore acquired, rendered;
static VkFence fence;
static unsigned created; /* swapchains made */
/* passthrough: the driver's own swapchains, which need not say VK_SUBOPTIMAL_KHR in a
 * resized window (Mesa's on Xvfb does not) */
static bool driver_presents;
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER; /* the queue is the app's threads' */

struct chain {
	VkSwapchainKHR handle;
	VkExtent2D extent;
	uint32_t count;
	VkImage images[16];
};

static double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static VkExtent2D current_extent(void) {
	VkSurfaceCapabilitiesKHR caps;
	VK(vkGetPhysicalDeviceSurfaceCapabilitiesKHR(pd, surface, &caps));
	return caps.currentExtent;
}

static VkImageUsageFlags chain_usage; /* more usage for the next chain */

/* make_chain makes a swapchain of at least `images` images, or one more than the least */
static struct chain make_chain_n(VkPresentModeKHR mode, VkSwapchainKHR old, uint32_t images,
				 const VkAllocationCallbacks *alloc) {
	VkSurfaceCapabilitiesKHR caps;
	VK(vkGetPhysicalDeviceSurfaceCapabilitiesKHR(pd, surface, &caps));
	struct chain c = {.extent = caps.currentExtent};
	VkSwapchainCreateInfoKHR ci = {
	    .sType = VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR,
	    .surface = surface,
	    .minImageCount = images ? images : caps.minImageCount + 1,
	    .imageFormat = VK_FORMAT_B8G8R8A8_UNORM,
	    .imageColorSpace = VK_COLOR_SPACE_SRGB_NONLINEAR_KHR,
	    .imageExtent = caps.currentExtent,
	    .imageArrayLayers = 1,
	    .imageUsage =
		VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT | chain_usage,
	    .imageSharingMode = VK_SHARING_MODE_EXCLUSIVE,
	    .preTransform = VK_SURFACE_TRANSFORM_IDENTITY_BIT_KHR,
	    .compositeAlpha = VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR,
	    .presentMode = mode,
	    .clipped = VK_TRUE,
	    .oldSwapchain = old,
	};
	VK(vkCreateSwapchainKHR(dev, &ci, alloc, &c.handle));
	created++;
	c.count = 16;
	VK(vkGetSwapchainImagesKHR(dev, c.handle, &c.count, c.images));
	CHECK(c.count >= ci.minImageCount, "%u images, asked for %u", c.count, ci.minImageCount);
	return c;
}

static struct chain make_chain(VkPresentModeKHR mode, VkSwapchainKHR old) {
	return make_chain_n(mode, old, 0, NULL);
}

/* frame acquires an image, clears it to bgr and presents it; returns what acquire or
 * present said when it was not VK_SUCCESS. frame_within gives acquire a timeout, and
 * returns VK_TIMEOUT when it passes. */
static VkResult frame_within(struct chain *c, uint32_t bgr, uint64_t timeout) {
	uint32_t idx;
	VkResult r = vkAcquireNextImageKHR(dev, c->handle, timeout, acquired, fence, &idx);
	if (r == VK_ERROR_OUT_OF_DATE_KHR || (r == VK_TIMEOUT && timeout < 5000000000ull))
		return r;
	CHECK(r == VK_SUCCESS || r == VK_SUBOPTIMAL_KHR, "acquire: VkResult %d", r);
	/* the fence says the image is ours: the acquire must signal it */
	VK(vkWaitForFences(dev, 1, &fence, VK_TRUE, 5000000000ull));
	VK(vkResetFences(dev, 1, &fence));
	VK(vkResetCommandBuffer(cmd, 0));
	VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
	VK(vkBeginCommandBuffer(cmd, &bi));
	VkImageSubresourceRange range = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
	VkImageMemoryBarrier b = {
	    .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
	    .dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
	    .oldLayout = VK_IMAGE_LAYOUT_UNDEFINED,
	    .newLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
	    .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
	    .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
	    .image = c->images[idx],
	    .subresourceRange = range,
	};
	vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0,
			     0, NULL, 0, NULL, 1, &b);
	VkClearColorValue color = {.float32 = {((bgr >> 16) & 255) / 255.0f,
					       ((bgr >> 8) & 255) / 255.0f, (bgr & 255) / 255.0f,
					       1}};
	vkCmdClearColorImage(cmd, c->images[idx], VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, &color, 1,
			     &range);
	b.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
	b.dstAccessMask = 0;
	b.oldLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
	b.newLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
	vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
			     VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, 0, 0, NULL, 0, NULL, 1, &b);
	VK(vkEndCommandBuffer(cmd));
	VkPipelineStageFlags stage = VK_PIPELINE_STAGE_TRANSFER_BIT;
	VkSubmitInfo si = {
	    .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
	    .waitSemaphoreCount = 1,
	    .pWaitSemaphores = &acquired,
	    .pWaitDstStageMask = &stage,
	    .commandBufferCount = 1,
	    .pCommandBuffers = &cmd,
	    .signalSemaphoreCount = 1,
	    .pSignalSemaphores = &rendered,
	};
	pthread_mutex_lock(&qlock);
	r = vkQueueSubmit(queue, 1, &si, fence);
	pthread_mutex_unlock(&qlock);
	VK(r);
	VkResult result;
	VkPresentInfoKHR pi = {
	    .sType = VK_STRUCTURE_TYPE_PRESENT_INFO_KHR,
	    .waitSemaphoreCount = 1,
	    .pWaitSemaphores = &rendered,
	    .swapchainCount = 1,
	    .pSwapchains = &c->handle,
	    .pImageIndices = &idx,
	    .pResults = &result,
	};
	pthread_mutex_lock(&qlock);
	r = vkQueuePresentKHR(queue, &pi);
	pthread_mutex_unlock(&qlock);
	CHECK(r == result, "present returned %d, its pResults %d", r, result);
	/* the one command buffer is reused: wait for the submission's fence */
	VK(vkWaitForFences(dev, 1, &fence, VK_TRUE, 5000000000ull));
	VK(vkResetFences(dev, 1, &fence));
	CHECK(r == VK_SUCCESS || r == VK_SUBOPTIMAL_KHR || r == VK_ERROR_OUT_OF_DATE_KHR,
	      "present: VkResult %d", r);
	return r;
}

static VkResult frame(struct chain *c, uint32_t bgr) {
	return frame_within(c, bgr, 5000000000ull);
}

static uint32_t pixel(int x, int y) {
	xcb_get_image_reply_t *img = xcb_get_image_reply(
	    conn, xcb_get_image(conn, XCB_IMAGE_FORMAT_Z_PIXMAP, win, x, y, 1, 1, ~0u), NULL);
	CHECK(img, "GetImage of the window failed");
	uint32_t v;
	memcpy(&v, xcb_get_image_data(img), 4);
	free(img);
	return v & 0xffffff;
}

/* shows presents frames of one colour until the window's far corner has it */
static void shows(struct chain *c, uint32_t bgr) {
	double deadline = now() + 20;
	uint32_t got = 0;
	while (now() < deadline) {
		VkResult r = frame(c, bgr);
		CHECK(r == VK_SUCCESS, "present of a %ux%u frame: VkResult %d", c->extent.width,
		      c->extent.height, r);
		got = pixel(c->extent.width - 1, c->extent.height - 1);
		if (got == bgr && pixel(0, 0) == bgr)
			return;
	}
	CHECK(false, "the window shows 0x%06x, want 0x%06x", got, bgr);
}

/* on_purpose marks, on stdout, where the program breaks a rule of the specification on
 * purpose, and the validation message that says so (a validation layer above the
 * present layer sees it; one below does not); on_purpose_done ends the mark. The
 * validation layer logs on stdout too, so its message lands between the two lines. */
static void on_purpose(const char *what, const char *vuid) {
	printf("swapchain-test: on purpose: %s (%s)\n", what, vuid);
	fflush(stdout);
}

static void on_purpose_done(void) {
	printf("swapchain-test: on purpose: done\n");
	fflush(stdout);
}

static volatile bool submitting;

/* submitter submits empty batches on the queue, under the app's lock, until told to stop */
static void *submitter(void *arg) {
	unsigned long *n = arg;
	while (__atomic_load_n(&submitting, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&qlock);
		VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO};
		VkResult r = vkQueueSubmit(queue, 1, &si, VK_NULL_HANDLE);
		pthread_mutex_unlock(&qlock);
		CHECK(r == VK_SUCCESS, "the second thread's submission: VkResult %d", r);
		__atomic_add_fetch(n, 1, __ATOMIC_RELEASE);
		/* often enough to meet the other thread's acquires, not so often that a
		 * software driver spends the test on empty batches */
		nanosleep(&(struct timespec){0, 20000}, NULL);
	}
	return NULL;
}

/* offered checks that the driver's swapchain extensions reach the app untouched
 * where the driver presents (the stand-in below the layer offers them) */
static void offered(void) {
	static const char *const names[] = {"VK_KHR_present_wait", "VK_KHR_present_id",
					    "VK_EXT_swapchain_maintenance1", "VK_NV_low_latency2"};
	uint32_t n = 0;
	VK(vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL));
	VkExtensionProperties *e = calloc(n, sizeof *e);
	CHECK(e, "out of memory");
	VK(vkEnumerateDeviceExtensionProperties(pd, NULL, &n, e));
	for (size_t j = 0; j < sizeof names / sizeof names[0]; j++) {
		bool found = false;
		for (uint32_t k = 0; k < n; k++)
			found |= strcmp(e[k].extensionName, names[j]) == 0;
		CHECK(found, "the driver presents, yet %s is not offered", names[j]);
	}
	free(e);
	VkPhysicalDevicePresentWaitFeaturesKHR wait = {
	    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PRESENT_WAIT_FEATURES_KHR};
	VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
					.pNext = &wait};
	vkGetPhysicalDeviceFeatures2(pd, &f2);
	CHECK(wait.presentWait, "the driver presents, yet presentWait reads false");
}

/* hidden checks that the swapchain extensions the layer does not implement are neither
 * offered nor accepted */
static void hidden(void) {
	static const char *const names[] = {"VK_KHR_present_wait", "VK_KHR_present_id",
					    "VK_EXT_swapchain_maintenance1", "VK_NV_low_latency2"};
	uint32_t n = 0;
	VK(vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL));
	VkExtensionProperties *e = calloc(n, sizeof *e);
	CHECK(e, "out of memory");
	VK(vkEnumerateDeviceExtensionProperties(pd, NULL, &n, e));
	for (uint32_t k = 0; k < n; k++)
		for (size_t j = 0; j < sizeof names / sizeof names[0]; j++)
			CHECK(strcmp(e[k].extensionName, names[j]) != 0,
			      "the device offers %s, which would hand the layer's swapchain to the driver",
			      names[j]);
	free(e);

	VkPhysicalDeviceSwapchainMaintenance1FeaturesEXT maint = {
	    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SWAPCHAIN_MAINTENANCE_1_FEATURES_EXT};
	VkPhysicalDevicePresentIdFeaturesKHR id = {
	    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PRESENT_ID_FEATURES_KHR, .pNext = &maint};
	VkPhysicalDevicePresentWaitFeaturesKHR wait = {
	    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PRESENT_WAIT_FEATURES_KHR, .pNext = &id};
	VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
					.pNext = &wait};
	vkGetPhysicalDeviceFeatures2(pd, &f2);
	CHECK(!wait.presentWait && !id.presentId && !maint.swapchainMaintenance1,
	      "features offered: presentWait %u, presentId %u, swapchainMaintenance1 %u",
	      wait.presentWait, id.presentId, maint.swapchainMaintenance1);

	float prio = 1;
	VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
				       .queueFamilyIndex = family,
				       .queueCount = 1,
				       .pQueuePriorities = &prio};
	for (size_t j = 0; j < sizeof names / sizeof names[0]; j++) {
		/* each with what it requires: present_wait needs present_id; no instance
		 * here has VK_EXT_surface_maintenance1, which swapchain_maintenance1 needs */
		const char *dext[] = {VK_KHR_SWAPCHAIN_EXTENSION_NAME, names[j], "VK_KHR_present_id"};
		bool needs_id = strcmp(names[j], "VK_KHR_present_wait") == 0;
		bool invalid = strcmp(names[j], "VK_EXT_swapchain_maintenance1") == 0;
		VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
					  .queueCreateInfoCount = 1,
					  .pQueueCreateInfos = &qci,
					  .enabledExtensionCount = needs_id ? 3 : 2,
					  .ppEnabledExtensionNames = dext};
		VkDevice d = VK_NULL_HANDLE;
		if (invalid)
			on_purpose("VK_EXT_swapchain_maintenance1 without VK_EXT_surface_maintenance1",
				   "VUID-vkCreateDevice-ppEnabledExtensionNames-01387");
		VkResult r = vkCreateDevice(pd, &dci, NULL, &d);
		if (invalid)
			on_purpose_done();
		if (r == VK_SUCCESS)
			vkDestroyDevice(d, NULL);
		CHECK(r == VK_ERROR_EXTENSION_NOT_PRESENT, "vkCreateDevice with %s: VkResult %d",
		      names[j], r);
	}
	wait.pNext = NULL;
	wait.presentWait = VK_TRUE;
	VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
				  .pNext = &wait,
				  .queueCreateInfoCount = 1,
				  .pQueueCreateInfos = &qci};
	VkDevice d = VK_NULL_HANDLE;
	VkResult r = vkCreateDevice(pd, &dci, NULL, &d);
	if (r == VK_SUCCESS)
		vkDestroyDevice(d, NULL);
	CHECK(r == VK_ERROR_FEATURE_NOT_PRESENT, "vkCreateDevice asking for presentWait: VkResult %d",
	      r);
}

/* late presents n frames while the GPU is late: VK_LAYER_XINIT_test_offer below the layer
 * makes every fence read as signalled only XINIT_TEST_GPU_LATENCY_MS after its
 * submission, so the app runs ahead until acquire holds it back and several frames are
 * always on their way. Returns how often the window's pixel changed from one frame to
 * the next: a presentation engine that shows the newest finished frame changes it
 * almost every frame, one that waits on frames it then drops hardly ever does. */
static unsigned late(struct chain *c, int n) {
	enum { SLOTS = 8 };
	VkSemaphoreCreateInfo sci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
	VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO,
				 .flags = VK_FENCE_CREATE_SIGNALED_BIT};
	VkSemaphore acq[SLOTS], done[SLOTS];
	VkFence fences[SLOTS];
	VkCommandBuffer cmds[SLOTS];
	VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
					   .commandPool = pool,
					   .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
					   .commandBufferCount = SLOTS};
	VK(vkAllocateCommandBuffers(dev, &cai, cmds));
	for (int s = 0; s < SLOTS; s++) {
		VK(vkCreateSemaphore(dev, &sci, NULL, &acq[s]));
		VK(vkCreateSemaphore(dev, &sci, NULL, &done[s]));
		VK(vkCreateFence(dev, &fci, NULL, &fences[s]));
	}
	uint32_t last = pixel(c->extent.width - 1, c->extent.height - 1);
	unsigned changes = 0;
	for (int k = 1; k <= n; k++) {
		int s = k % SLOTS;
		VK(vkWaitForFences(dev, 1, &fences[s], VK_TRUE, 5000000000ull));
		VK(vkResetFences(dev, 1, &fences[s]));
		uint32_t idx;
		VkResult r = vkAcquireNextImageKHR(dev, c->handle, 5000000000ull, acq[s],
						   VK_NULL_HANDLE, &idx);
		CHECK(r == VK_SUCCESS, "acquire of frame %d with the GPU late: VkResult %d", k, r);
		uint32_t bgr = (k * 53 & 255) << 16 | (k * 97 & 255) << 8 | (k * 29 & 255);
		VkCommandBuffer cmd = cmds[s];
		VK(vkResetCommandBuffer(cmd, 0));
		VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
		VK(vkBeginCommandBuffer(cmd, &bi));
		VkImageSubresourceRange range = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
		VkImageMemoryBarrier b = {
		    .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
		    .dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
		    .oldLayout = VK_IMAGE_LAYOUT_UNDEFINED,
		    .newLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
		    .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
		    .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
		    .image = c->images[idx],
		    .subresourceRange = range,
		};
		vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
				     VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0, NULL, 0, NULL, 1, &b);
		VkClearColorValue color = {.float32 = {((bgr >> 16) & 255) / 255.0f,
						       ((bgr >> 8) & 255) / 255.0f,
						       (bgr & 255) / 255.0f, 1}};
		vkCmdClearColorImage(cmd, c->images[idx], VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
				     &color, 1, &range);
		b.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
		b.dstAccessMask = 0;
		b.oldLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
		b.newLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
		vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
				     VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, 0, 0, NULL, 0, NULL, 1,
				     &b);
		VK(vkEndCommandBuffer(cmd));
		VkPipelineStageFlags stage = VK_PIPELINE_STAGE_TRANSFER_BIT;
		VkSubmitInfo si = {
		    .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
		    .waitSemaphoreCount = 1,
		    .pWaitSemaphores = &acq[s],
		    .pWaitDstStageMask = &stage,
		    .commandBufferCount = 1,
		    .pCommandBuffers = &cmd,
		    .signalSemaphoreCount = 1,
		    .pSignalSemaphores = &done[s],
		};
		pthread_mutex_lock(&qlock);
		r = vkQueueSubmit(queue, 1, &si, fences[s]);
		pthread_mutex_unlock(&qlock);
		VK(r);
		VkPresentInfoKHR pi = {
		    .sType = VK_STRUCTURE_TYPE_PRESENT_INFO_KHR,
		    .waitSemaphoreCount = 1,
		    .pWaitSemaphores = &done[s],
		    .swapchainCount = 1,
		    .pSwapchains = &c->handle,
		    .pImageIndices = &idx,
		};
		pthread_mutex_lock(&qlock);
		r = vkQueuePresentKHR(queue, &pi);
		pthread_mutex_unlock(&qlock);
		CHECK(r == VK_SUCCESS, "present of frame %d with the GPU late: VkResult %d", k, r);
		uint32_t now = pixel(c->extent.width - 1, c->extent.height - 1);
		changes += now != last;
		last = now;
	}
	VK(vkDeviceWaitIdle(dev));
	for (int s = 0; s < SLOTS; s++) {
		vkDestroySemaphore(dev, acq[s], NULL);
		vkDestroySemaphore(dev, done[s], NULL);
		vkDestroyFence(dev, fences[s], NULL);
	}
	vkFreeCommandBuffers(dev, pool, SLOTS, cmds);
	return changes;
}

static VkFence waited; /* the acquire fence another thread waits on */

static void *fence_waiter(void *arg) {
	VkResult *r = arg;
	*r = vkWaitForFences(dev, 1, &waited, VK_TRUE, 5000000000ull);
	return NULL;
}

static void resize(uint32_t w, uint32_t h) {
	uint32_t v[] = {w, h};
	xcb_configure_window(conn, win, XCB_CONFIG_WINDOW_WIDTH | XCB_CONFIG_WINDOW_HEIGHT, v);
	free(xcb_get_input_focus_reply(conn, xcb_get_input_focus(conn), NULL));
}

/* the app's own allocator: every block carries a mark, so that memory handed back
 * that it never gave out (or twice) fails the test */
#define MARK 0x7869696e6974ull
struct block {
	uint64_t mark;
	size_t size;
	void *base;
};
static unsigned long live_blocks, all_blocks;

static void *VKAPI_PTR app_alloc(void *ud, size_t size, size_t align,
				 VkSystemAllocationScope scope) {
	(void)ud, (void)scope;
	if (align < 32) /* a power of two that holds the mark */
		align = 32;
	size_t head = (sizeof(struct block) + align - 1) / align * align;
	size_t total = (head + size + align - 1) / align * align;
	char *base = aligned_alloc(align, total);
	if (!base)
		return NULL;
	struct block *b = (struct block *)(base + head) - 1;
	*b = (struct block){MARK, size, base};
	__atomic_add_fetch(&live_blocks, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&all_blocks, 1, __ATOMIC_RELAXED);
	return base + head;
}

static void VKAPI_PTR app_free(void *ud, void *p) {
	(void)ud;
	if (!p)
		return;
	struct block *b = (struct block *)p - 1;
	CHECK(b->mark == MARK, "the app's allocator was handed %p, which it never gave out", p);
	b->mark = 0;
	__atomic_sub_fetch(&live_blocks, 1, __ATOMIC_RELAXED);
	free(b->base);
}

static void *VKAPI_PTR app_realloc(void *ud, void *p, size_t size, size_t align,
				   VkSystemAllocationScope scope) {
	if (!p)
		return app_alloc(ud, size, align, scope);
	if (size == 0) {
		app_free(ud, p);
		return NULL;
	}
	struct block *b = (struct block *)p - 1;
	CHECK(b->mark == MARK, "the app's allocator was asked to grow %p, which it never gave out",
	      p);
	void *q = app_alloc(ud, size, align, scope);
	if (q) {
		memcpy(q, p, b->size < size ? b->size : size);
		app_free(ud, p);
	}
	return q;
}

static const VkAllocationCallbacks app_allocator = {
    .pfnAllocation = app_alloc, .pfnReallocation = app_realloc, .pfnFree = app_free};

/* basics runs the FIFO, resize, timeout, threads, MAILBOX and allocator checks and
 * returns a swapchain with frames on their way, for the device to be destroyed with */
static struct chain basics(bool mailbox, bool relaxed) {
	VkResult r = VK_NOT_READY;
	VkExtent2D e;
	/* frames land in the window */
	struct chain c = make_chain(VK_PRESENT_MODE_FIFO_KHR, VK_NULL_HANDLE);
	shows(&c, 0x2040c0);
	shows(&c, 0xc04020);
	printf("swapchain-test: %ux%u frames shown\n", c.extent.width, c.extent.height);

	/* a resized window: out of date, the new size in the capabilities, a new chain */
	resize(400, 300);
	/* the old chain's frames go on, in the corner, with VK_SUBOPTIMAL_KHR */
	const uint32_t clipped[] = {0x3060a0, 0x60a030};
	for (int k = 0; k < 2; k++) {
		double deadline = now() + 20;
		uint32_t got = 0;
		while (now() < deadline) {
			r = frame(&c, clipped[k]);
			CHECK(r == VK_SUCCESS || r == VK_SUBOPTIMAL_KHR,
			      "after a resize, acquire/present said %d, want VK_SUBOPTIMAL_KHR", r);
			got = pixel(0, 0);
			if ((r == VK_SUBOPTIMAL_KHR || driver_presents) && got == clipped[k] &&
			    pixel(c.extent.width - 1, c.extent.height - 1) == clipped[k])
				break;
		}
		CHECK((r == VK_SUBOPTIMAL_KHR || driver_presents) && got == clipped[k],
		      "after a resize: VkResult %d and the window shows 0x%06x, want "
		      "VK_SUBOPTIMAL_KHR and 0x%06x",
		      r, got, clipped[k]);
	}
	VkResult resized = r;
	double deadline;
	e = current_extent();
	CHECK(e.width == 400 && e.height == 300, "current extent %ux%u after the resize", e.width,
	      e.height);
	VK(vkDeviceWaitIdle(dev));
	struct chain next = make_chain(VK_PRESENT_MODE_FIFO_KHR, c.handle);
	uint32_t idx;
	if (!driver_presents) { /* the layer's promise; what a driver does is its own */
		on_purpose("acquire on a retired swapchain",
			   "VUID-vkAcquireNextImageKHR-swapchain-01285");
		r = vkAcquireNextImageKHR(dev, c.handle, 0, VK_NULL_HANDLE, fence, &idx);
		on_purpose_done();
		CHECK(r == VK_ERROR_OUT_OF_DATE_KHR, "acquire on a retired swapchain said %d", r);
	}
	vkDestroySwapchainKHR(dev, c.handle, NULL);
	c = next;
	shows(&c, 0x10e010);
	printf("swapchain-test: resized to %ux%u: the old frames went on (VkResult %d), recreated, "
	       "frames shown\n",
	       c.extent.width, c.extent.height, resized);

	/* acquire with timeout 0 and every image taken: VK_NOT_READY, then VK_TIMEOUT */
	VK(vkDeviceWaitIdle(dev));
	uint32_t taken = 0;
	deadline = now() + 20;
	while (now() < deadline) {
		r = vkAcquireNextImageKHR(dev, c.handle, 0, VK_NULL_HANDLE, fence, &idx);
		if (r == VK_NOT_READY) {
			if (taken == c.count)
				break;
			continue; /* an image is still on its way to the window */
		}
		CHECK(r == VK_SUCCESS, "acquire (timeout 0): VkResult %d", r);
		VK(vkWaitForFences(dev, 1, &fence, VK_TRUE, 5000000000ull));
		VK(vkResetFences(dev, 1, &fence));
		taken++;
	}
	CHECK(taken == c.count && r == VK_NOT_READY, "acquired %u of %u images, then VkResult %d",
	      taken, c.count, r);
	r = vkAcquireNextImageKHR(dev, c.handle, 1000000, VK_NULL_HANDLE, fence, &idx);
	CHECK(r == VK_TIMEOUT || (driver_presents && r == VK_NOT_READY),
	      "acquire (timeout 1ms) with every image taken: VkResult %d", r);

	/* frames while a second thread submits on the same queue */
	vkDestroySwapchainKHR(dev, c.handle, NULL);
	c = make_chain(VK_PRESENT_MODE_FIFO_KHR, VK_NULL_HANDLE);
	unsigned long theirs = 0;
	pthread_t other;
	__atomic_store_n(&submitting, true, __ATOMIC_RELEASE);
	CHECK(pthread_create(&other, NULL, submitter, &theirs) == 0, "pthread_create");
	while (__atomic_load_n(&theirs, __ATOMIC_ACQUIRE) == 0) /* it runs before we start */
		sched_yield();
	for (int k = 0; k < 300; k++)
		CHECK((r = frame(&c, k & 1 ? 0x402040 : 0x204020)) == VK_SUCCESS,
		      "frame %d while another thread submits: VkResult %d", k, r);
	__atomic_store_n(&submitting, false, __ATOMIC_RELEASE);
	pthread_join(other, NULL);
	shows(&c, 0x4080c0);
	printf("swapchain-test: 300 frames while another thread made %lu submissions\n", theirs);

	/* destroyed and created anew, in MAILBOX mode when offered */
	vkDestroySwapchainKHR(dev, c.handle, NULL);
	c = make_chain(mailbox ? VK_PRESENT_MODE_MAILBOX_KHR : VK_PRESENT_MODE_FIFO_KHR,
		       VK_NULL_HANDLE);
	shows(&c, 0xe0e020);
	for (int k = 0; k < 30; k++)
		frame(&c, 0x20e0e0);
	shows(&c, 0x20e0e0);
	printf("swapchain-test: destroyed and recreated (%s), frames shown\n",
	       mailbox ? "mailbox" : "fifo");

	/* FIFO_RELAXED, and storage images where the device can write the format */
	CHECK(relaxed, "VK_PRESENT_MODE_FIFO_RELAXED_KHR is not offered");
	VK(vkDeviceWaitIdle(dev));
	vkDestroySwapchainKHR(dev, c.handle, NULL);
	VkFormatProperties fp;
	vkGetPhysicalDeviceFormatProperties(pd, VK_FORMAT_B8G8R8A8_UNORM, &fp);
	bool storage = fp.optimalTilingFeatures & VK_FORMAT_FEATURE_STORAGE_IMAGE_BIT;
	VkSurfaceCapabilitiesKHR caps;
	VK(vkGetPhysicalDeviceSurfaceCapabilitiesKHR(pd, surface, &caps));
	CHECK(!storage == !(caps.supportedUsageFlags & VK_IMAGE_USAGE_STORAGE_BIT),
	      "the device %s storage images of B8G8R8A8_UNORM, the surface's usage flags 0x%x",
	      storage ? "writes" : "does not write", caps.supportedUsageFlags);
	chain_usage = storage ? VK_IMAGE_USAGE_STORAGE_BIT : 0;
	c = make_chain(VK_PRESENT_MODE_FIFO_RELAXED_KHR, VK_NULL_HANDLE);
	chain_usage = 0;
	shows(&c, 0x4020c0);
	printf("swapchain-test: fifo relaxed%s, frames shown\n", storage ? " with storage images" : "");

	/* a swapchain made and destroyed with the app's allocator gives everything back */
	VK(vkDeviceWaitIdle(dev));
	vkDestroySwapchainKHR(dev, c.handle, NULL);
	c = make_chain_n(VK_PRESENT_MODE_FIFO_KHR, VK_NULL_HANDLE, 0, &app_allocator);
	shows(&c, 0x803070);
	VK(vkDeviceWaitIdle(dev));
	vkDestroySwapchainKHR(dev, c.handle, &app_allocator);
	CHECK(all_blocks > 0 && live_blocks == 0,
	      "the app's allocator gave out %lu blocks, %lu not given back", all_blocks,
	      live_blocks);
	printf("swapchain-test: a swapchain with the app's allocator: %lu blocks, all given back\n",
	       all_blocks);

	/* a thread already waiting on the acquire fence wakes when acquire signals it (the
	 * layer's promise; for a driver, waiting during the acquire is undefined) */
	c = make_chain(VK_PRESENT_MODE_FIFO_KHR, VK_NULL_HANDLE);
	if (!driver_presents) {
		VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
		VK(vkCreateFence(dev, &fci, NULL, &waited));
		VkResult woke = VK_NOT_READY;
		pthread_t waiter;
		CHECK(pthread_create(&waiter, NULL, fence_waiter, &woke) == 0, "pthread_create");
		nanosleep(&(struct timespec){0, 100000000}, NULL);
		double t0 = now();
		on_purpose("acquire with a fence another thread waits on",
			   "UNASSIGNED-Threading-MultipleThreads");
		VK(vkAcquireNextImageKHR(dev, c.handle, 5000000000ull, VK_NULL_HANDLE, waited, &idx));
		pthread_join(waiter, NULL);
		on_purpose_done();
		CHECK(woke == VK_SUCCESS && now() - t0 < 1,
		      "a thread waiting on the acquire fence got VkResult %d after %.3f s", woke, now() - t0);
		vkDestroyFence(dev, waited, NULL);
		printf("swapchain-test: a thread waiting on the acquire fence woke after %.3f s\n",
		       now() - t0);
	}

	/* frames on their way when the device goes (one image stays acquired) */
	for (int k = 0; k < 3; k++)
		frame(&c, 0x102030);
	return c;
}

/* late_modes runs MAILBOX and IMMEDIATE with the GPU late: the window keeps changing */
static void late_modes(const VkPresentModeKHR *modes, uint32_t n) {
	const char *ms = getenv("XINIT_TEST_GPU_LATENCY_MS");
	CHECK(ms, "late: run with VK_LAYER_XINIT_test_offer below the layer and "
		  "XINIT_TEST_GPU_LATENCY_MS set");
	const VkPresentModeKHR newest[] = {VK_PRESENT_MODE_MAILBOX_KHR, VK_PRESENT_MODE_IMMEDIATE_KHR};
	for (int m = 0; m < 2; m++) {
		bool offered = false;
		for (uint32_t k = 0; k < n; k++)
			offered |= modes[k] == newest[m];
		CHECK(offered, "present mode %d is not offered", newest[m]);
		struct chain c = make_chain_n(newest[m], VK_NULL_HANDLE, 5, NULL);
		const int frames = 120;
		unsigned changed = late(&c, frames);
		printf("swapchain-test: %s with the GPU %s ms late: the window changed %u times in "
		       "%d frames\n",
		       m ? "immediate" : "mailbox", ms, changed, frames);
		CHECK(changed >= frames / 10, "%s with the GPU late: the window changed %u times in %d "
		      "frames", m ? "immediate" : "mailbox", changed, frames);
		vkDestroySwapchainKHR(dev, c.handle, NULL);
	}
}


/* segments counts the SysV shared memory segments this process created that still
 * exist, and how many of them have not been marked for removal (IPC_RMID) */
static unsigned segments(unsigned *unmarked) {
	FILE *f = fopen("/proc/sysvipc/shm", "r");
	CHECK(f, "cannot read /proc/sysvipc/shm");
	char line[512];
	unsigned n = 0;
	*unmarked = 0;
	CHECK(fgets(line, sizeof line, f), "/proc/sysvipc/shm is empty");
	while (fgets(line, sizeof line, f)) {
		long key, id, cpid;
		unsigned perms;
		if (sscanf(line, "%ld %ld %o %*u %ld", &key, &id, &perms, &cpid) == 4 &&
		    cpid == getpid()) {
			n++;
			*unmarked += !(perms & 01000);
		}
	}
	fclose(f);
	return n;
}

/* stalled: another client grabs the X server, which then serves no other client (as a
 * stopped one serves none): present does not wait for it, and acquire, once every
 * image is on its way to the window, keeps to its timeout */
static void stalled(void) {
	xcb_connection_t *other = xcb_connect(NULL, NULL);
	CHECK(!xcb_connection_has_error(other), "cannot connect to $DISPLAY");
	struct chain c = make_chain(VK_PRESENT_MODE_FIFO_KHR, VK_NULL_HANDLE);
	shows(&c, 0x336699);
	VK(vkDeviceWaitIdle(dev));
	xcb_grab_server(other);
	free(xcb_get_input_focus_reply(other, xcb_get_input_focus(other), NULL));
	VkResult r = VK_SUCCESS;
	int k = 0;
	for (; k < 20 && r == VK_SUCCESS; k++) {
		double t = now();
		r = frame_within(&c, 0x663399, 200000000ull);
		CHECK(now() - t < 2, "a frame (acquire with a timeout of 0.2 s, then present) "
				     "with the X server stalled took %.3f s", now() - t);
	}
	CHECK(r == VK_TIMEOUT && k <= (int)c.count + 1, "frame %d with the X server stalled: VkResult %d",
	      k, r);
	uint32_t idx;
	r = vkAcquireNextImageKHR(dev, c.handle, 0, VK_NULL_HANDLE, fence, &idx);
	CHECK(r == VK_NOT_READY, "acquire (timeout 0) with the X server stalled: VkResult %d", r);
	VK(vkDeviceWaitIdle(dev));
	xcb_ungrab_server(other);
	free(xcb_get_input_focus_reply(other, xcb_get_input_focus(other), NULL));
	xcb_disconnect(other);
	shows(&c, 0x996633); /* and frames again once it serves */
	VK(vkDeviceWaitIdle(dev));
	vkDestroySwapchainKHR(dev, c.handle, NULL);
	printf("swapchain-test: with the X server stalled, %d frames presented, then acquire timed "
	       "out; frames again after it\n", k - 1);
}

/* recreate makes and destroys swapchains until it is killed */
static void recreate(void) {
	printf("swapchain-test: recreating\n");
	for (;;) {
		struct chain c = make_chain(VK_PRESENT_MODE_FIFO_KHR, VK_NULL_HANDLE);
		vkDestroySwapchainKHR(dev, c.handle, NULL);
	}
}

/* chains recreates a swapchain many times, through oldSwapchain and anew: the
 * segments of each are removed as soon as they are made, and gone with it */
static void chains(void) {
	unsigned unmarked, before = segments(&unmarked);
	struct chain c = make_chain(VK_PRESENT_MODE_FIFO_KHR, VK_NULL_HANDLE);
	for (int k = 0; k < 40; k++) {
		frame(&c, 0x101010 * (k % 15));
		struct chain next = make_chain(VK_PRESENT_MODE_FIFO_KHR, k % 2 ? c.handle : VK_NULL_HANDLE);
		if (k % 2 == 0)
			vkDestroySwapchainKHR(dev, c.handle, NULL);
		else {
			VK(vkDeviceWaitIdle(dev));
			vkDestroySwapchainKHR(dev, c.handle, NULL);
		}
		c = next;
		unsigned live = segments(&unmarked);
		CHECK(unmarked == 0, "%u of %u segments not marked for removal", unmarked, live);
	}
	shows(&c, 0x30c030);
	VK(vkDeviceWaitIdle(dev));
	vkDestroySwapchainKHR(dev, c.handle, NULL);
	free(xcb_get_input_focus_reply(conn, xcb_get_input_focus(conn), NULL));
	unsigned after = segments(&unmarked);
	CHECK(after <= before, "%u segments before 40 swapchains, %u after", before, after);
	printf("swapchain-test: 40 swapchains recreated, their segments removed\n");
}

/* other_window makes a window of w x h below the first one and a surface on it */
static void other_window(uint32_t w, uint32_t h, xcb_window_t *xw, VkSurfaceKHR *sf) {
	xcb_screen_t *screen = xcb_setup_roots_iterator(xcb_get_setup(conn)).data;
	*xw = xcb_generate_id(conn);
	xcb_create_window(conn, XCB_COPY_FROM_PARENT, *xw, screen->root, 0, 250, w, h, 0,
			  XCB_WINDOW_CLASS_INPUT_OUTPUT, screen->root_visual, 0, NULL);
	xcb_map_window(conn, *xw);
	free(xcb_get_input_focus_reply(conn, xcb_get_input_focus(conn), NULL));
	VkXcbSurfaceCreateInfoKHR sci = {VK_STRUCTURE_TYPE_XCB_SURFACE_CREATE_INFO_KHR, NULL, 0,
					 conn, *xw};
	VK(vkCreateXcbSurfaceKHR(inst, &sci, NULL, sf));
	VkBool32 ok;
	VK(vkGetPhysicalDeviceSurfaceSupportKHR(pd, family, *sf, &ok));
}

/* to_present puts image in the layout for presenting, on the queue, and signals sem */
static void to_present(VkImage image, VkSemaphore sem) {
	VK(vkResetCommandBuffer(cmd, 0));
	VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
	VK(vkBeginCommandBuffer(cmd, &bi));
	VkImageMemoryBarrier b = {
	    .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
	    .oldLayout = VK_IMAGE_LAYOUT_UNDEFINED,
	    .newLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR,
	    .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
	    .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
	    .image = image,
	    .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1},
	};
	vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT,
			     VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, 0, 0, NULL, 0, NULL, 1, &b);
	VK(vkEndCommandBuffer(cmd));
	VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1,
			   .pCommandBuffers = &cmd, .signalSemaphoreCount = sem != VK_NULL_HANDLE,
			   .pSignalSemaphores = &sem};
	VK(vkQueueSubmit(queue, 1, &si, fence));
	VK(vkWaitForFences(dev, 1, &fence, VK_TRUE, 5000000000ull));
	VK(vkResetFences(dev, 1, &fence));
}

/* corner presents frames of one colour until the window's top left pixel has it */
static void corner(struct chain *c, uint32_t bgr) {
	double deadline = now() + 20;
	uint32_t got = 0;
	while (now() < deadline) {
		VkResult r = frame(c, bgr);
		CHECK(r == VK_SUCCESS, "present of a %ux%u frame: VkResult %d", c->extent.width,
		      c->extent.height, r);
		if ((got = pixel(0, 0)) == bgr)
			return;
	}
	CHECK(false, "the %ux%u window shows 0x%06x, want 0x%06x", c->extent.width,
	      c->extent.height, got, bgr);
}

/* odd sizes, several windows at once, and a window destroyed under its swapchain */
static void windows(void) {
	static const uint32_t sizes[][2] = {{1, 1}, {4097, 3}, {3, 701}, {333, 77}};
	VkSurfaceKHR keep = surface;
	xcb_window_t keep_win = win;
	for (int k = 0; k < 4; k++) {
		xcb_window_t w;
		VkSurfaceKHR sf;
		other_window(sizes[k][0], sizes[k][1], &w, &sf);
		surface = sf, win = w;
		struct chain c = make_chain(VK_PRESENT_MODE_FIFO_KHR, VK_NULL_HANDLE);
		CHECK(c.extent.width == sizes[k][0] && c.extent.height == sizes[k][1],
		      "extent %ux%u", c.extent.width, c.extent.height);
		/* and the first window's at the same time */
		surface = keep, win = keep_win;
		struct chain first = make_chain(VK_PRESENT_MODE_FIFO_KHR, VK_NULL_HANDLE);
		surface = sf, win = w;
		corner(&c, 0x805020 + k);
		surface = keep, win = keep_win;
		shows(&first, 0x205080 + k);
		surface = sf, win = w;
		corner(&c, 0x802050 + k);
		VK(vkDeviceWaitIdle(dev));
		vkDestroySwapchainKHR(dev, first.handle, NULL);
		if (k == 3) { /* the window goes first */
			xcb_destroy_window(conn, w);
			free(xcb_get_input_focus_reply(conn, xcb_get_input_focus(conn), NULL));
			VkResult r = VK_SUCCESS;
			double deadline = now() + 10;
			while (now() < deadline && r != VK_ERROR_SURFACE_LOST_KHR) {
				uint32_t idx;
				r = vkAcquireNextImageKHR(dev, c.handle, 1000000000ull, VK_NULL_HANDLE, fence, &idx);
				if (r == VK_SUCCESS || r == VK_SUBOPTIMAL_KHR) {
					VK(vkWaitForFences(dev, 1, &fence, VK_TRUE, 5000000000ull));
					VK(vkResetFences(dev, 1, &fence));
					to_present(c.images[idx], VK_NULL_HANDLE);
					VkPresentInfoKHR pi = {.sType = VK_STRUCTURE_TYPE_PRESENT_INFO_KHR,
							       .swapchainCount = 1, .pSwapchains = &c.handle,
							       .pImageIndices = &idx};
					r = vkQueuePresentKHR(queue, &pi);
				}
			}
			CHECK(r == VK_ERROR_SURFACE_LOST_KHR, "a destroyed window: VkResult %d", r);
			VK(vkDeviceWaitIdle(dev));
		}
		vkDestroySwapchainKHR(dev, c.handle, NULL);
		vkDestroySurfaceKHR(inst, sf, NULL);
		if (k != 3)
			xcb_destroy_window(conn, w);
		xcb_generic_event_t *ev;
		while ((ev = xcb_poll_for_event(conn))) {
			CHECK(ev->response_type != 0, "an X error %u in the app's event queue",
			      ((xcb_generic_error_t *)ev)->error_code);
			free(ev);
		}
		printf("swapchain-test: %ux%u beside 320x240: frames shown\n", sizes[k][0], sizes[k][1]);
	}
	surface = keep, win = keep_win;
}

/* present_both presents an image of each chain in one vkQueuePresentKHR, a after b */
static VkResult present_both(struct chain *a, struct chain *b, VkResult res[2]) {
	struct chain *cs[2] = {a, b};
	uint32_t idx[2];
	VkSwapchainKHR hs[2] = {a->handle, b->handle};
	VkSemaphore sems[2];
	VkSemaphoreCreateInfo sci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
	for (int k = 0; k < 2; k++) {
		VK(vkCreateSemaphore(dev, &sci, NULL, &sems[k]));
		VkResult r = vkAcquireNextImageKHR(dev, hs[k], 5000000000ull, VK_NULL_HANDLE, fence, &idx[k]);
		CHECK(r == VK_SUCCESS, "acquire: VkResult %d", r);
		VK(vkWaitForFences(dev, 1, &fence, VK_TRUE, 5000000000ull));
		VK(vkResetFences(dev, 1, &fence));
		to_present(cs[k]->images[idx[k]], sems[k]);
	}
	VkPresentInfoKHR pi = {.sType = VK_STRUCTURE_TYPE_PRESENT_INFO_KHR, .waitSemaphoreCount = 2,
			       .pWaitSemaphores = sems, .swapchainCount = 2, .pSwapchains = hs,
			       .pImageIndices = idx, .pResults = res};
	VkResult r = vkQueuePresentKHR(queue, &pi);
	VK(vkDeviceWaitIdle(dev));
	vkDestroySemaphore(dev, sems[0], NULL);
	vkDestroySemaphore(dev, sems[1], NULL);
	return r;
}

/* mixed: one window the driver presents, one it cannot (the stand-in below reads
 * XINIT_TEST_NO_PRESENT at each call), both presented in one vkQueuePresentKHR */
static void mixed(void) {
	VkSurfaceKHR keep = surface;
	xcb_window_t keep_win = win, w;
	VkSurfaceKHR sf;
	unsetenv("XINIT_TEST_NO_PRESENT");
	other_window(200, 100, &w, &sf);
	surface = sf, win = w;
	struct chain drv = make_chain(VK_PRESENT_MODE_FIFO_KHR, VK_NULL_HANDLE);
	setenv("XINIT_TEST_NO_PRESENT", "1", 1);
	surface = keep, win = keep_win;
	struct chain copy = make_chain(VK_PRESENT_MODE_FIFO_KHR, VK_NULL_HANDLE);
	for (int k = 0; k < 6; k++) {
		VkResult res[2] = {-1, -1};
		VkResult r = k % 2 ? present_both(&copy, &drv, res) : present_both(&drv, &copy, res);
		CHECK(r == VK_SUCCESS && res[0] == VK_SUCCESS && res[1] == VK_SUCCESS,
		      "one present of a driver's and a layer's swapchain: VkResult %d (%d, %d)", r, res[0], res[1]);
	}
	vkDestroySwapchainKHR(dev, drv.handle, NULL);
	vkDestroySwapchainKHR(dev, copy.handle, NULL);
	vkDestroySurfaceKHR(inst, sf, NULL);
	xcb_destroy_window(conn, w);
	printf("swapchain-test: one present of the driver's swapchain and the layer's\n");
}

/* named: the app names a swapchain and its images (VK_EXT_debug_utils, as engines and
 * tools do): the layer's swapchain handle must not reach the driver */
static void named(void) {
	PFN_vkSetDebugUtilsObjectNameEXT name =
	    (PFN_vkSetDebugUtilsObjectNameEXT)vkGetDeviceProcAddr(dev, "vkSetDebugUtilsObjectNameEXT");
	PFN_vkSetDebugUtilsObjectTagEXT tag =
	    (PFN_vkSetDebugUtilsObjectTagEXT)vkGetDeviceProcAddr(dev, "vkSetDebugUtilsObjectTagEXT");
	CHECK(name && tag, "no vkSetDebugUtilsObjectNameEXT");
	struct chain c = make_chain(VK_PRESENT_MODE_FIFO_KHR, VK_NULL_HANDLE);
	for (int k = 0; k < 3; k++) {
		VkDebugUtilsObjectNameInfoEXT ni = {VK_STRUCTURE_TYPE_DEBUG_UTILS_OBJECT_NAME_INFO_EXT, NULL,
						    VK_OBJECT_TYPE_SWAPCHAIN_KHR, (uint64_t)c.handle,
						    k == 2 ? "renamed" : "the game's swapchain"};
		VK(name(dev, &ni));
		ni.objectType = VK_OBJECT_TYPE_IMAGE;
		ni.objectHandle = (uint64_t)c.images[0];
		VK(name(dev, &ni));
	}
	static const char data[] = "tag";
	VkDebugUtilsObjectTagInfoEXT ti = {VK_STRUCTURE_TYPE_DEBUG_UTILS_OBJECT_TAG_INFO_EXT, NULL,
					   VK_OBJECT_TYPE_SWAPCHAIN_KHR, (uint64_t)c.handle, 1,
					   sizeof data, data};
	VK(tag(dev, &ti));
	shows(&c, 0x60c060);
	VK(vkDeviceWaitIdle(dev));
	vkDestroySwapchainKHR(dev, c.handle, NULL);
	printf("swapchain-test: a named swapchain, frames shown\n");
}

/* aliased: an image of the app's bound to a swapchain image's memory (Vulkan 1.1's
 * VkImageSwapchainCreateInfoKHR and VkBindImageMemorySwapchainInfoKHR): the layer's
 * swapchain handle must not reach the driver, and what the app draws into the image
 * is what the window shows */
static void aliased(void) {
	struct chain c = make_chain(VK_PRESENT_MODE_FIFO_KHR, VK_NULL_HANDLE);
	VkImageSwapchainCreateInfoKHR sw = {VK_STRUCTURE_TYPE_IMAGE_SWAPCHAIN_CREATE_INFO_KHR, NULL,
					    c.handle};
	VkImageCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
				 .pNext = &sw,
				 .imageType = VK_IMAGE_TYPE_2D,
				 .format = VK_FORMAT_B8G8R8A8_UNORM,
				 .extent = {c.extent.width, c.extent.height, 1},
				 .mipLevels = 1,
				 .arrayLayers = 1,
				 .samples = VK_SAMPLE_COUNT_1_BIT,
				 .tiling = VK_IMAGE_TILING_OPTIMAL,
				 .usage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT |
					  VK_IMAGE_USAGE_TRANSFER_DST_BIT};
	VkImage alias[16];
	for (uint32_t k = 0; k < c.count; k++) {
		VK(vkCreateImage(dev, &ici, NULL, &alias[k]));
		VkBindImageMemorySwapchainInfoKHR bs = {
		    VK_STRUCTURE_TYPE_BIND_IMAGE_MEMORY_SWAPCHAIN_INFO_KHR, NULL, c.handle, k};
		VkBindImageMemoryInfo bi = {VK_STRUCTURE_TYPE_BIND_IMAGE_MEMORY_INFO, &bs, alias[k],
					    VK_NULL_HANDLE, 0};
		VK(vkBindImageMemory2(dev, 1, &bi));
	}
	/* frames drawn into the aliases */
	VkImage own[16];
	memcpy(own, c.images, sizeof own);
	memcpy(c.images, alias, sizeof alias);
	shows(&c, 0x5090d0);
	VK(vkDeviceWaitIdle(dev));
	for (uint32_t k = 0; k < c.count; k++)
		vkDestroyImage(dev, alias[k], NULL);
	memcpy(c.images, own, sizeof own);
	vkDestroySwapchainKHR(dev, c.handle, NULL);
	printf("swapchain-test: images bound to a swapchain's, frames shown\n");
}

static void attack(void) {
	aliased();
	named();
	mixed();
	windows();
	chains();
	stalled();
}

/* killed runs "swapchain-test recreate" and kills it while the X server is grabbed
 * by another client, several times: whatever it was doing, the segments it made
 * must not outlive it (each one is removed with IPC_RMID before the X server is
 * asked to attach it, which may never answer). */
static void killed(const char *self) {
	xcb_connection_t *c = xcb_connect(NULL, NULL);
	CHECK(!xcb_connection_has_error(c), "cannot connect to $DISPLAY");
	unsigned leaks = 0, tries = 12;
	for (unsigned t = 0; t < tries; t++) {
		int fds[2];
		CHECK(pipe(fds) == 0, "pipe");
		pid_t pid = fork();
		CHECK(pid >= 0, "fork");
		if (pid == 0) {
			dup2(fds[1], STDOUT_FILENO);
			dup2(fds[1], STDERR_FILENO);
			close(fds[0]);
			execl(self, self, "recreate", (char *)NULL);
			_exit(127);
		}
		close(fds[1]);
		static char buf[65536];
		ssize_t n = 0;
		while (n < (ssize_t)sizeof buf - 1) { /* until its first swapchain */
			ssize_t k = read(fds[0], buf + n, sizeof buf - 1 - n);
			CHECK(k > 0, "swapchain-test recreate ended before it made a swapchain:\n%s", buf);
			n += k;
			buf[n] = 0;
			if (strstr(buf, "swapchain-test: recreating") &&
			    strstr(buf, "VK_LAYER_XINIT_present: swapchain "))
				break;
		}
		/* a Vulkan 1.0 app that enabled the import's extensions itself */
		CHECK(strstr(buf, "the GPU copying into the segments"),
		      "swapchain-test recreate does not copy into the segments:\n%s", buf);
		nanosleep(&(struct timespec){0, (t % 4) * 3000000 + 1000000}, NULL);
		xcb_grab_server(c);
		free(xcb_get_input_focus_reply(c, xcb_get_input_focus(c), NULL));
		nanosleep(&(struct timespec){0, 50000000}, NULL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(fds[0]);
		xcb_ungrab_server(c);
		free(xcb_get_input_focus_reply(c, xcb_get_input_focus(c), NULL));
		/* what it left: segments it created that nobody removed */
		FILE *f = fopen("/proc/sysvipc/shm", "r");
		CHECK(f, "cannot read /proc/sysvipc/shm");
		char line[512];
		while (fgets(line, sizeof line, f)) {
			long key, id, cpid;
			unsigned perms;
			if (sscanf(line, "%ld %ld %o %*u %ld", &key, &id, &perms, &cpid) == 4 &&
			    cpid == pid) {
				leaks++;
				shmctl((int)id, IPC_RMID, NULL); /* not left behind by the test */
			}
		}
		fclose(f);
	}
	xcb_disconnect(c);
	CHECK(leaks == 0, "%u shared memory segments outlived the app killed %u times", leaks, tries);
	printf("swapchain-test: killed %u times while the X server was grabbed: no segment left\n",
	       tries);
}

/* crashed prints where, on stderr, for a crash in the program or a layer below it: each
 * frame as library(function+offset), which addr2line reads against the same build */
static void crashed(int sig) {
	static const char line[] = "swapchain-test: crashed; the stack:\n";
	if (write(STDERR_FILENO, line, sizeof line - 1) < 0)
		_exit(128 + sig);
	void *frames[64];
	backtrace_symbols_fd(frames, backtrace(frames, 64), STDERR_FILENO);
	signal(sig, SIG_DFL);
	raise(sig);
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IOLBF, 0); /* each line out before a crash */
	signal(SIGSEGV, crashed);
	signal(SIGBUS, crashed);
	signal(SIGABRT, crashed);
	bool xlib = argc > 1 && strcmp(argv[1], "xlib") == 0;
	bool late_mode = argc > 1 && strcmp(argv[1], "late") == 0;
	bool pass = argc > 1 && strcmp(argv[1], "passthrough") == 0;
	bool attack_mode = argc > 1 && strcmp(argv[1], "attack") == 0;
	bool recreate_mode = argc > 1 && strcmp(argv[1], "recreate") == 0;
	if (argc > 1 && strcmp(argv[1], "killed") == 0) {
		killed(argv[0]);
		return 0;
	}
	driver_presents = pass;
	const char *ext[] = {VK_KHR_SURFACE_EXTENSION_NAME,
			     xlib ? VK_KHR_XLIB_SURFACE_EXTENSION_NAME
				  : VK_KHR_XCB_SURFACE_EXTENSION_NAME,
			     VK_KHR_GET_SURFACE_CAPABILITIES_2_EXTENSION_NAME, VK_EXT_DEBUG_UTILS_EXTENSION_NAME};
	/* recreate is a Vulkan 1.0 app that enables itself what the layer enables for the
	 * host import on such an app's instance and device */
	const char *ext10[] = {ext[0], ext[1], ext[2], "VK_KHR_get_physical_device_properties2",
			       "VK_KHR_external_memory_capabilities"};
	Display *dpy = NULL;
	if (xlib) {
		dpy = XOpenDisplay(NULL);
		CHECK(dpy, "cannot open the display $DISPLAY");
		conn = XGetXCBConnection(dpy);
		win = (xcb_window_t)XCreateSimpleWindow(dpy, DefaultRootWindow(dpy), 0, 0, 320, 240,
						       0, 0, 0);
		XMapWindow(dpy, win);
		XSync(dpy, False);
	} else {
		conn = xcb_connect(NULL, NULL);
		CHECK(!xcb_connection_has_error(conn), "cannot connect to $DISPLAY");
		xcb_screen_t *screen = xcb_setup_roots_iterator(xcb_get_setup(conn)).data;
		win = xcb_generate_id(conn);
		xcb_create_window(conn, XCB_COPY_FROM_PARENT, win, screen->root, 0, 0, 320, 240, 0,
				  XCB_WINDOW_CLASS_INPUT_OUTPUT, screen->root_visual, 0, NULL);
		xcb_map_window(conn, win);
		free(xcb_get_input_focus_reply(conn, xcb_get_input_focus(conn), NULL));
	}

	VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
				 .apiVersion = recreate_mode ? VK_API_VERSION_1_0 : VK_API_VERSION_1_1};
	VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
				    .pApplicationInfo = &app,
				    .enabledExtensionCount = attack_mode ? 4 : recreate_mode ? 5 : 3,
				    .ppEnabledExtensionNames = recreate_mode ? ext10 : ext};
	VK(vkCreateInstance(&ici, NULL, &inst));
	uint32_t n = 1;
	VkResult r = vkEnumeratePhysicalDevices(inst, &n, &pd);
	CHECK((r == VK_SUCCESS || r == VK_INCOMPLETE) && n == 1, "no Vulkan device");
	if (xlib) {
		VkXlibSurfaceCreateInfoKHR sci = {VK_STRUCTURE_TYPE_XLIB_SURFACE_CREATE_INFO_KHR,
						  NULL, 0, dpy, win};
		VK(vkCreateXlibSurfaceKHR(inst, &sci, NULL, &surface));
	} else {
		VkXcbSurfaceCreateInfoKHR sci = {VK_STRUCTURE_TYPE_XCB_SURFACE_CREATE_INFO_KHR, NULL,
						 0, conn, win};
		VK(vkCreateXcbSurfaceKHR(inst, &sci, NULL, &surface));
	}
	VkBool32 ok = VK_FALSE;
	VK(vkGetPhysicalDeviceSurfaceSupportKHR(pd, 0, surface, &ok));
	CHECK(ok, "queue family 0 cannot present");
	/* present support on exactly the families that can run a copy */
	VkQueueFamilyProperties qf[16];
	uint32_t nf = 16, cannot = 0;
	vkGetPhysicalDeviceQueueFamilyProperties(pd, &nf, qf);
	for (uint32_t k = 0; k < nf; k++) {
		bool copy = qf[k].queueFlags &
			    (VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT | VK_QUEUE_TRANSFER_BIT);
		VK(vkGetPhysicalDeviceSurfaceSupportKHR(pd, k, surface, &ok));
		CHECK(!ok == !copy, "queue family %u (flags 0x%x): present support %u", k,
		      qf[k].queueFlags, ok);
		cannot += !copy;
	}
	printf("swapchain-test: present support on %u queue families, none on the %u that "
	       "cannot copy\n",
	       nf - cannot, cannot);

	VkExtent2D e = current_extent();
	CHECK(e.width == 320 && e.height == 240, "current extent %ux%u, want 320x240", e.width,
	      e.height);
	VkPhysicalDeviceSurfaceInfo2KHR si2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SURFACE_INFO_2_KHR,
					       NULL, surface};
	VkSurfaceCapabilities2KHR caps2 = {.sType = VK_STRUCTURE_TYPE_SURFACE_CAPABILITIES_2_KHR};
	VK(vkGetPhysicalDeviceSurfaceCapabilities2KHR(pd, &si2, &caps2));
	CHECK(caps2.surfaceCapabilities.currentExtent.width == 320, "Capabilities2: width %u",
	      caps2.surfaceCapabilities.currentExtent.width);
	VkSurfaceFormatKHR formats[16];
	n = 16;
	VK(vkGetPhysicalDeviceSurfaceFormatsKHR(pd, surface, &n, formats));
	bool unorm = false;
	for (uint32_t k = 0; k < n; k++)
		unorm |= formats[k].format == VK_FORMAT_B8G8R8A8_UNORM;
	CHECK(unorm, "no VK_FORMAT_B8G8R8A8_UNORM among %u formats", n);
	VkSurfaceFormat2KHR formats2[16];
	for (int k = 0; k < 16; k++)
		formats2[k] = (VkSurfaceFormat2KHR){.sType = VK_STRUCTURE_TYPE_SURFACE_FORMAT_2_KHR};
	uint32_t n2 = 16;
	VK(vkGetPhysicalDeviceSurfaceFormats2KHR(pd, &si2, &n2, formats2));
	CHECK(n2 == n, "Formats2 gives %u formats, Formats %u", n2, n);
	VkPresentModeKHR modes[8];
	bool relaxed = false;
	n = 8;
	VK(vkGetPhysicalDeviceSurfacePresentModesKHR(pd, surface, &n, modes));
	bool mailbox = false;
	for (uint32_t k = 0; k < n; k++)
		mailbox |= modes[k] == VK_PRESENT_MODE_MAILBOX_KHR;
	for (uint32_t k = 0; k < n; k++)
		relaxed |= modes[k] == VK_PRESENT_MODE_FIFO_RELAXED_KHR;

	if (pass) {
		offered();
		printf("swapchain-test: the driver presents: present_wait, present_id, "
		       "swapchain_maintenance1 and low_latency2 offered as it offers them\n");
	} else if (!recreate_mode) {
		hidden();
		printf("swapchain-test: no present_wait, present_id, swapchain_maintenance1 or "
		       "low_latency2 offered or accepted\n");
	}

	float prio = 1;
	VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
				       .queueFamilyIndex = family,
				       .queueCount = 1,
				       .pQueuePriorities = &prio};
	const char *dext[] = {VK_KHR_SWAPCHAIN_EXTENSION_NAME, VK_KHR_EXTERNAL_MEMORY_EXTENSION_NAME,
			      VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME};
	VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
				  .queueCreateInfoCount = 1,
				  .pQueueCreateInfos = &qci,
				  .enabledExtensionCount = recreate_mode ? 3 : 1,
				  .ppEnabledExtensionNames = dext};
	VK(vkCreateDevice(pd, &dci, NULL, &dev));
	vkGetDeviceQueue(dev, family, 0, &queue);
	VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
				       .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
				       .queueFamilyIndex = family};
	VK(vkCreateCommandPool(dev, &pci, NULL, &pool));
	VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
					   .commandPool = pool,
					   .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
					   .commandBufferCount = 1};
	VK(vkAllocateCommandBuffers(dev, &cai, &cmd));
	VkSemaphoreCreateInfo sci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
	VK(vkCreateSemaphore(dev, &sci, NULL, &acquired));
	VK(vkCreateSemaphore(dev, &sci, NULL, &rendered));
	VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
	VK(vkCreateFence(dev, &fci, NULL, &fence));

	if (recreate_mode) {
		recreate();
	} else if (attack_mode) {
		attack();
		return 0;
	} else if (late_mode) {
		late_modes(modes, n);
	} else {
		/* the app forgets its last swapchain: the device goes with it alive */
		struct chain last = basics(mailbox, relaxed);
		VK(vkDeviceWaitIdle(dev));
		if (pass) /* the layer's promise; for a driver, undefined */
			vkDestroySwapchainKHR(dev, last.handle, NULL);
	}
	vkDestroyFence(dev, fence, NULL);
	vkDestroySemaphore(dev, acquired, NULL);
	vkDestroySemaphore(dev, rendered, NULL);
	vkDestroyCommandPool(dev, pool, NULL);
	bool live = !late_mode && !pass;
	if (live)
		on_purpose("destroy the device with a swapchain alive",
			   "VUID-vkDestroyDevice-device-00378");
	vkDestroyDevice(dev, NULL);
	if (live)
		on_purpose_done();
	if (live)
		printf("swapchain-test: device destroyed with a live swapchain\n");
	vkDestroySurfaceKHR(inst, surface, NULL);
	vkDestroyInstance(inst, NULL);
	if (dpy)
		XCloseDisplay(dpy);
	else
		xcb_disconnect(conn);
	printf("swapchain-test: ok, %u swapchains created\n", created);
	return 0;
}
